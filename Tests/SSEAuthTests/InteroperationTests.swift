import Crypto
import CryptoExtras
import Foundation
import JWTKit
import Testing

@testable import SSEAuth

/// jwt-kit as the reference implementation: what it signs verifies here, and what is minted here verifies there.
@Suite("Interoperation with jwt-kit")
struct InteroperationTests {
    struct ReferencePayload: JWTPayload, Equatable {
        struct Grant: Codable, Sendable, Equatable {
            var subscribe: [String]?
            var publish: [String]?
        }

        var exp: ExpirationClaim
        var sub: SubjectClaim?
        var sse: Grant

        func verify(using algorithm: some JWTAlgorithm) async throws {
            try exp.verifyNotExpired()
        }
    }

    /// The fixture's keys in a jwt-kit collection, under the kids the verifier below uses.
    static func referenceKeys() async throws -> JWTKeyCollection {
        let keys = KeyFixture.shared
        let collection = JWTKeyCollection()
        await collection.add(hmac: HMACKey(from: keys.secret256), digestAlgorithm: .sha256, kid: "hs256")
        await collection.add(hmac: HMACKey(from: keys.secret384), digestAlgorithm: .sha384, kid: "hs384")
        await collection.add(hmac: HMACKey(from: keys.secret512), digestAlgorithm: .sha512, kid: "hs")
        await collection.add(
            rsa: try Insecure.RSA.PrivateKey(pem: keys.rsa.pemRepresentation), digestAlgorithm: .sha256, kid: "rsa")
        await collection.add(ecdsa: try ES256PrivateKey(pem: keys.ec.pemRepresentation), kid: "ec")
        await collection.add(eddsa: try EdDSA.PrivateKey(pem: keys.ed.pemRepresentation), kid: "ed")
        return collection
    }

    static let keys = [
        ("hs256", "HS256", "hs256", "hs256"), ("hs384", "HS384", "hs384", "hs384"), ("hs", "HS512", "hs512", "hs512"),
        ("rsa", "RS256", "rsa.pub.pem", "rsa.pem"),
        ("ec", "ES256", "ec.pub.pem", "ec.pem"), ("ed", "EdDSA", "ed.pub.pem", "ed.pem"),
    ]

    @Test("tokens signed by jwt-kit verify here, for every key type")
    func jwtKitTokensVerify() async throws {
        let reference = try await Self.referenceKeys()
        try await KeyDirectory.with { directory in
            try directory.writeFixture()
            let verifier = try await TokenVerifier(
                .init(keys: Self.keys.map { try directory.spec($0.0, $0.1, $0.2) }))
            for (kid, _, _, _) in Self.keys {
                let payload = ReferencePayload(
                    exp: ExpirationClaim(value: Date().addingTimeInterval(300)), sub: SubjectClaim(value: kid),
                    sse: .init(subscribe: ["board", "org.7.*"], publish: nil))
                let token = try await reference.sign(payload, kid: JWKIdentifier(string: kid))
                let access = try verifier.verify(token, now: Date())
                #expect(access.subject == kid)
                #expect(access.grants == grants(subscribe: ["board", "org.7.*"]))
            }
        }
    }

    @Test("tokens minted here verify in jwt-kit, for every key type")
    func mintedTokensVerifyInJWTKit() async throws {
        let reference = try await Self.referenceKeys()
        try await KeyDirectory.with { directory in
            try directory.writeFixture()
            for (kid, algorithm, _, privateFile) in Self.keys {
                let minter = try await TokenMinter(signingKey: directory.spec(kid, algorithm, privateFile))
                let token = try minter.mint(
                    subject: kid, grants: grants(subscribe: ["board"], publish: ["visitor.1"]),
                    lifetime: .seconds(300), tokenID: "j", issuer: nil, audience: nil, now: Date())
                let payload = try await reference.verify(token, as: ReferencePayload.self)
                #expect(payload.sub?.value == kid)
                #expect(payload.sse == .init(subscribe: ["board"], publish: ["visitor.1"]))
            }
        }
    }

    @Test("every signature check and signer is the algorithm jwt-kit built for the key, under the configured name")
    func checksAreJWTKits() async throws {
        let reference = try await Self.referenceKeys()
        try await KeyDirectory.with { directory in
            try directory.writeFixture()
            let verifier = try await TokenVerifier(
                .init(keys: Self.keys.map { try directory.spec($0.0, $0.1, $0.2) }))
            for (kid, algorithm, _, privateFile) in Self.keys {
                let key = try #require(verifier.keysByID[kid])
                #expect(key.algorithm.rawValue == algorithm && key.check.name == algorithm)
                #expect(String(reflecting: type(of: key.check)).hasPrefix("JWTKit."))
                let minter = try await TokenMinter(signingKey: directory.spec(kid, algorithm, privateFile))
                #expect(minter.signer.name == algorithm)
                #expect(String(reflecting: type(of: minter.signer)).hasPrefix("JWTKit."))

                // jwt-kit's token verifies; the same token with one bit of its signature flipped is a bad signature.
                let payload = ReferencePayload(
                    exp: ExpirationClaim(value: Date().addingTimeInterval(300)), sub: SubjectClaim(value: kid),
                    sse: .init(subscribe: ["board"], publish: nil))
                let token = try await reference.sign(payload, kid: JWKIdentifier(string: kid))
                #expect(try verifier.verify(token, now: Date()).subject == kid)
                let segments = token.split(separator: ".", omittingEmptySubsequences: false)
                var signature = try #require(Base64URL.decode(segments[2].utf8))
                for bit in [0, signature.count * 8 - 1] {
                    signature[bit / 8] ^= 1 << (bit % 8)
                    let flipped = segments[0] + "." + segments[1] + "." + Base64URL.encode(signature)
                    #expect(throws: TokenRejection.badSignature) { try verifier.verify(flipped, now: Date()) }
                    signature[bit / 8] ^= 1 << (bit % 8)
                }

                // Where signing is deterministic (all but ECDSA), the minter's signature is jwt-kit's, byte for byte.
                let input = Array("header.payload of \(kid)".utf8)
                let referenceSignature = try await reference.getKey(for: JWKIdentifier(string: kid)).sign(input)
                if algorithm != "ES256" { #expect(try minter.signature(for: input) == referenceSignature) }
                #expect(key.isValidSignature(try minter.signature(for: input), for: input[...]))
            }
        }
    }

    @Test("keys made by openssl (PKCS#8, SEC1 and SPKI PEM) sign and verify")
    func opensslKeys() async throws {
        try await KeyDirectory.with { directory in
            let base = directory.path
            try OpenSSL.run(["genpkey", "-algorithm", "ED25519", "-out", base + "/ed.pem"])
            try OpenSSL.run(["pkey", "-in", base + "/ed.pem", "-pubout", "-out", base + "/ed.pub.pem"])
            try OpenSSL.run(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", base + "/ec.pem"])
            try OpenSSL.run(["ec", "-in", base + "/ec.pem", "-pubout", "-out", base + "/ec.pub.pem"])
            try OpenSSL.run(["genrsa", "-traditional", "-out", base + "/rsa.pem", "2048"])
            try OpenSSL.run(["rsa", "-in", base + "/rsa.pem", "-RSAPublicKey_out", "-out", base + "/rsa.pub.pem"])
            for (algorithm, name) in [("EdDSA", "ed"), ("ES256", "ec"), ("RS256", "rsa")] {
                let minter = try await TokenMinter(signingKey: directory.spec("o", algorithm, name + ".pem"))
                let verifier = try await TokenVerifier(.init(keys: [directory.spec("o", algorithm, name + ".pub.pem")]))
                let token = try minter.mint(
                    subject: name, grants: grants(subscribe: ["board"]), lifetime: .seconds(60), tokenID: nil,
                    issuer: nil, audience: nil, now: FixedTime.now)
                #expect(try verifier.verify(token, now: FixedTime.now).subject == name)
            }
        }
    }
}
