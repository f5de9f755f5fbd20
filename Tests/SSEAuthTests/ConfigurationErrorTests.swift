import Crypto
import CryptoExtras
import Foundation
import SSEAuth
import Testing

@Suite("Key configuration errors")
struct ConfigurationErrorTests {
    static let badSpecs: [(spec: String, message: String)] = [
        (
            "mainHS256:/etc/sse/secret",
            #"key "mainHS256:/etc/sse/secret" is invalid: expected KID=ALG:PATH, e.g. main=HS256:/etc/sse/secret"#
        ),
        ("main=HS256", #"key "main=HS256" is invalid: expected KID=ALG:PATH, e.g. main=HS256:/etc/sse/secret"#),
        (
            "=HS256:/etc/sse/secret",
            #"key "=HS256:/etc/sse/secret" is invalid: its id must be 1–64 characters without spaces"#
        ),
        ("my key=HS256:/s", #"key "my key=HS256:/s" is invalid: its id must be 1–64 characters without spaces"#),
        (
            "main=HS999:/etc/sse/secret",
            #"key main has unknown algorithm "HS999": use HS256, HS384, HS512, RS256, ES256 or EdDSA"#
        ),
        (
            "main=hs256:/etc/sse/secret",
            #"key main has unknown algorithm "hs256": use HS256, HS384, HS512, RS256, ES256 or EdDSA"#
        ),
        (
            "main=none:/dev/null",
            #"key main has unknown algorithm "none": use HS256, HS384, HS512, RS256, ES256 or EdDSA"#
        ),
        ("main=HS256:", "key main (HS256) has no file: expected KID=ALG:PATH"),
    ]

    @Test("a key spec that cannot be parsed is refused with what was expected", arguments: badSpecs)
    func badSpecIsRefused(_ row: (spec: String, message: String)) {
        let error = #expect(throws: AuthConfigurationError.self) { try KeySpec(parsing: row.spec) }
        #expect(error?.description == row.message)
    }

    @Test("a path may contain = and :")
    func pathWithSeparators() throws {
        let spec = try KeySpec(parsing: "main=HS256:/etc/sse/a=b:c")
        #expect(spec == KeySpec(keyID: "main", algorithm: .hs256, path: "/etc/sse/a=b:c"))
        #expect(spec.description == "main=HS256:/etc/sse/a=b:c")
    }

    /// A key file that is not usable for its algorithm: (algorithm, file written, contents, message after PATH).
    static let badFiles: [(algorithm: String, contents: Contents, message: String)] = [
        (
            "HS256", .bytes(Array(repeating: 0x61, count: 31) + [0x0A]),
            "the secret in PATH is 31 bytes, expected at least 32"
        ),
        ("HS384", .bytes(Array(repeating: 0x61, count: 32)), "the secret in PATH is 32 bytes, expected at least 48"),
        ("HS512", .bytes(Array(repeating: 0x61, count: 63)), "the secret in PATH is 63 bytes, expected at least 64"),
        ("RS256", .ecPublic, "PATH does not hold an RSA public or private key in PEM"),
        ("ES256", .rsaPublic, "PATH does not hold a P-256 public or private key in PEM"),
        ("EdDSA", .ecPublic, "PATH does not hold an Ed25519 public or private key in PEM"),
        ("ES256", .edPublic, "PATH does not hold a P-256 public or private key in PEM"),
        ("ES256", .p384Public, "PATH does not hold a P-256 public or private key in PEM"),
        ("RS256", .bytes(Array(repeating: 0x61, count: 40)), "PATH is not a PEM file"),
    ]

    enum Contents: Sendable {
        case bytes([UInt8])
        case rsaPublic, ecPublic, edPublic, p384Public

        var bytes: [UInt8] {
            let keys = KeyFixture.shared
            switch self {
            case .bytes(let bytes): return bytes
            case .rsaPublic: return Array(keys.rsa.publicKey.pemRepresentation.utf8)
            case .ecPublic: return Array(keys.ec.publicKey.pemRepresentation.utf8)
            case .edPublic: return Array(keys.ed.publicKey.pemRepresentation.utf8)
            case .p384Public: return Array(P384.Signing.PrivateKey().publicKey.pemRepresentation.utf8)
            }
        }
    }

    @Test("a key file unusable for its algorithm is refused naming the key and the file", arguments: badFiles)
    func badKeyFileIsRefused(_ row: (algorithm: String, contents: Contents, message: String)) async throws {
        try await KeyDirectory.with { directory in
            let file = try directory.write("key", row.contents.bytes)
            let spec = try KeySpec(parsing: "k1=\(row.algorithm):\(file)")
            let error = await #expect(throws: AuthConfigurationError.self) {
                try await TokenVerifier(.init(keys: [spec]))
            }
            let expected = "key k1 (\(row.algorithm)): " + row.message.replacingOccurrences(of: "PATH", with: file)
            #expect(error?.description == expected)
        }
    }

    @Test("a missing key file and a directory are refused naming the file")
    func missingFile() async throws {
        try await KeyDirectory.with { directory in
            let missing = directory.path + "/missing"
            let error = await #expect(throws: AuthConfigurationError.self) {
                try await TokenVerifier(.init(keys: [KeySpec(parsing: "main=HS256:\(missing)")]))
            }
            #expect(error?.description == "key main (HS256): \(missing) does not exist")
            let folder = await #expect(throws: AuthConfigurationError.self) {
                try await TokenVerifier(.init(keys: [KeySpec(parsing: "main=HS256:\(directory.path)")]))
            }
            #expect(folder?.description == "key main (HS256): \(directory.path) cannot be read")
            let jwks = await #expect(throws: AuthConfigurationError.self) {
                try await TokenVerifier(.init(jwksFiles: [missing]))
            }
            #expect(jwks?.description == "JWKS file: \(missing) does not exist")
        }
    }

    @Test("an RSA key under 2048 bits is refused (made with openssl)")
    func shortRSAKey() async throws {
        try await KeyDirectory.with { directory in
            let file = directory.path + "/rsa1024.pem"
            try OpenSSL.run(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", file])
            let error = await #expect(throws: AuthConfigurationError.self) {
                try await TokenVerifier(.init(keys: [KeySpec(parsing: "r=RS256:\(file)")]))
            }
            #expect(
                error?.description == "key r (RS256): \(file) holds a 1024-bit RSA key, expected at least 2048 bits")
        }
    }

    @Test("a minter needs the private key of a key pair")
    func minterNeedsPrivateKey() async throws {
        try await KeyDirectory.with { directory in
            try directory.writeFixture()
            for (algorithm, file, expected) in [
                ("RS256", "rsa.pub.pem", "an RSA private key"), ("ES256", "ec.pub.pem", "a P-256 private key"),
                ("EdDSA", "ed.pub.pem", "an Ed25519 private key"),
            ] {
                let error = await #expect(throws: AuthConfigurationError.self) {
                    try await TokenMinter(signingKey: directory.spec("k", algorithm, file))
                }
                #expect(
                    error?.description
                        == "key k (\(algorithm)): \(directory.path)/\(file) does not hold \(expected) in PEM")
            }
        }
    }
}
