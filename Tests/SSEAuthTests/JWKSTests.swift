import Crypto
import CryptoExtras
import Foundation
import SSEAuth
import Testing

@Suite("Keys from a JWKS file")
struct JWKSTests {
    /// A JWKS of the fixture's public keys (and the HS256 secret as an `oct` key), each with `kid` and `alg`.
    static func document(_ keys: KeyFixture = .shared) -> String {
        let primitives = try! keys.rsa.publicKey.getKeyPrimitives()
        let (modulus, exponent) = (primitives.modulus, primitives.publicExponent)
        let point = keys.ec.publicKey.x963Representation.dropFirst()
        let members: [[String: String]] = [
            ["kty": "oct", "kid": "j-hs", "alg": "HS256", "k": Forge.encoded(keys.secret256)],
            [
                "kty": "RSA", "kid": "j-rsa", "alg": "RS256", "use": "sig", "n": Forge.encoded(modulus),
                "e": Forge.encoded(exponent),
            ],
            [
                "kty": "EC", "kid": "j-ec", "alg": "ES256", "crv": "P-256", "x": Forge.encoded(point.prefix(32)),
                "y": Forge.encoded(point.suffix(32)),
            ],
            [
                "kty": "OKP", "kid": "j-ed", "alg": "EdDSA", "crv": "Ed25519",
                "x": Forge.encoded(keys.ed.publicKey.rawRepresentation),
            ],
        ]
        let data = try! JSONSerialization.data(withJSONObject: ["keys": members], options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    @Test("tokens signed with each key of a JWKS file verify by its kid, with the algorithm the file gives")
    func jwksKeysVerify() async throws {
        try await KeyDirectory.with { directory in
            try directory.writeFixture()
            let jwks = try directory.write("keys.json", Self.document())
            let verifier = try await TokenVerifier(.init(jwksFiles: [jwks]))
            #expect(verifier.keyIDs == ["j-hs", "j-rsa", "j-ec", "j-ed"])
            for (keyID, algorithm, file) in [
                ("j-hs", "HS256", "hs256"), ("j-rsa", "RS256", "rsa.pem"), ("j-ec", "ES256", "ec.pem"),
                ("j-ed", "EdDSA", "ed.pem"),
            ] {
                let minter = try await TokenMinter(signingKey: directory.spec(keyID, algorithm, file))
                let token = try minter.mint(
                    subject: keyID, grants: grants(subscribe: ["board"]), lifetime: .seconds(60), tokenID: nil,
                    issuer: nil, audience: nil, now: FixedTime.now)
                #expect(try verifier.verify(token, now: FixedTime.now).subject == keyID)
            }
            // The RSA key of the file, asked for with HS256 (its public key as the secret): refused by algorithm.
            let confused = Forge.signed(
                header: #"{"alg":"HS256","kid":"j-rsa"}"#,
                secret: Array(KeyFixture.shared.rsa.publicKey.pemRepresentation.utf8))
            #expect(throws: TokenRejection.algorithm("algorithm HS256 is not the one configured for key j-rsa (RS256)"))
            {
                try verifier.verify(confused, now: FixedTime.now)
            }
        }
    }

    @Test("a JWKS file and key specs together, and a kid in both is refused")
    func jwksWithSpecs() async throws {
        try await KeyDirectory.with { directory in
            try directory.writeFixture()
            let jwks = try directory.write("keys.json", Self.document())
            let verifier = try await TokenVerifier(
                .init(keys: [directory.spec("main", "HS256", "hs256")], jwksFiles: [jwks]))
            #expect(verifier.keyIDs == ["main", "j-hs", "j-rsa", "j-ec", "j-ed"])
            let error = await #expect(throws: AuthConfigurationError.self) {
                try await TokenVerifier(.init(keys: [directory.spec("j-ec", "HS256", "hs256")], jwksFiles: [jwks]))
            }
            #expect(error?.description == "key id j-ec is configured twice: each key needs its own id")
        }
    }

    static let badDocuments: [(json: String, message: String)] = [
        (#"{"keys": 3}"#, #"JWKS file PATH is not a JSON object with a "keys" array"#),
        ("not json", #"JWKS file PATH is not a JSON object with a "keys" array"#),
        (
            #"{"keys": [{"kty":"oct","alg":"HS256","k":"c2VjcmV0"}]}"#,
            #"JWKS file PATH: key 1 has no "kid" (1–64 characters without spaces)"#
        ),
        (
            #"{"keys": [{"kty":"oct","kid":"a","k":"c2VjcmV0"}]}"#,
            #"JWKS file PATH: key 1 (a) has no "alg": the algorithm must come from configuration"#
        ),
        (
            #"{"keys": [{"kty":"oct","kid":"a","alg":"HS256","k":"c2VjcmV0"}]}"#,
            "JWKS file PATH: key 1 (a): the secret is 6 bytes, expected at least 32"
        ),
        (
            #"{"keys": [{"kty":"RSA","kid":"a","alg":"PS256"}]}"#,
            #"JWKS file PATH: key 1 (a) has unknown "alg" "PS256": use HS256, HS384, HS512, RS256, ES256 or EdDSA"#
        ),
        (
            #"{"keys": [{"kty":"EC","kid":"a","alg":"RS256"}]}"#,
            #"JWKS file PATH: key 1 (a) needs "kty": "RSA" for RS256"#
        ),
        (
            #"{"keys": [{"kty":"RSA","kid":"a","alg":"RS256","n":"AQAB","e":"AQAB"}]}"#,
            #"JWKS file PATH: key 1 (a) has "n" and "e" that are not an RSA key of at least 2048 bits"#
        ),
        (
            #"{"keys": [{"kty":"EC","kid":"a","alg":"ES256","crv":"P-256","x":"AQAB","y":"AQAB"}]}"#,
            #"JWKS file PATH: key 1 (a) has "x" and "y" that are not a P-256 point"#
        ),
        (
            #"{"keys": [{"kty":"OKP","kid":"a","alg":"EdDSA","crv":"Ed25519","x":"AQAB","use":"enc"}]}"#,
            #"JWKS file PATH: key 1 (a) has "use" other than "sig""#
        ),
    ]

    @Test(
        "a JWKS file that is not usable is refused naming the file, the key and what is wrong", arguments: badDocuments)
    func badJWKSIsRefused(_ row: (json: String, message: String)) async throws {
        try await KeyDirectory.with { directory in
            let file = try directory.write("keys.json", row.json)
            let error = await #expect(throws: AuthConfigurationError.self) {
                try await TokenVerifier(.init(jwksFiles: [file]))
            }
            #expect(error?.description == row.message.replacingOccurrences(of: "PATH", with: file))
        }
    }
}
