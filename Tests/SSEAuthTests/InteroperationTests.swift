import Crypto
import CryptoExtras
import Foundation
import JWTKit
import SSEAuth
import Testing

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
        await collection.add(hmac: HMACKey(from: keys.secret512), digestAlgorithm: .sha512, kid: "hs")
        await collection.add(
            rsa: try Insecure.RSA.PrivateKey(pem: keys.rsa.pemRepresentation), digestAlgorithm: .sha256, kid: "rsa")
        await collection.add(ecdsa: try ES256PrivateKey(pem: keys.ec.pemRepresentation), kid: "ec")
        await collection.add(eddsa: try EdDSA.PrivateKey(pem: keys.ed.pemRepresentation), kid: "ed")
        return collection
    }

    static let keys = [
        ("hs", "HS512", "hs512", "hs512"), ("rsa", "RS256", "rsa.pub.pem", "rsa.pem"),
        ("ec", "ES256", "ec.pub.pem", "ec.pem"), ("ed", "EdDSA", "ed.pub.pem", "ed.pem"),
    ]

    @Test("tokens signed by jwt-kit verify here, for every key type")
    func jwtKitTokensVerify() async throws {
        let reference = try await Self.referenceKeys()
        try await KeyDirectory.with { directory in
            try directory.writeFixture()
            let verifier = try TokenVerifier(
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
                let minter = try TokenMinter(signingKey: directory.spec(kid, algorithm, privateFile))
                let token = try minter.mint(
                    subject: kid, grants: grants(subscribe: ["board"], publish: ["visitor.1"]),
                    lifetime: .seconds(300), tokenID: "j", issuer: nil, audience: nil, now: Date())
                let payload = try await reference.verify(token, as: ReferencePayload.self)
                #expect(payload.sub?.value == kid)
                #expect(payload.sse == .init(subscribe: ["board"], publish: ["visitor.1"]))
            }
        }
    }

    @Test("keys made by openssl (PKCS#8, SEC1 and SPKI PEM) sign and verify")
    func opensslKeys() throws {
        try KeyDirectory.with { directory in
            let base = directory.path
            try OpenSSL.run(["genpkey", "-algorithm", "ED25519", "-out", base + "/ed.pem"])
            try OpenSSL.run(["pkey", "-in", base + "/ed.pem", "-pubout", "-out", base + "/ed.pub.pem"])
            try OpenSSL.run(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", base + "/ec.pem"])
            try OpenSSL.run(["ec", "-in", base + "/ec.pem", "-pubout", "-out", base + "/ec.pub.pem"])
            try OpenSSL.run(["genrsa", "-traditional", "-out", base + "/rsa.pem", "2048"])
            try OpenSSL.run(["rsa", "-in", base + "/rsa.pem", "-RSAPublicKey_out", "-out", base + "/rsa.pub.pem"])
            for (algorithm, name) in [("EdDSA", "ed"), ("ES256", "ec"), ("RS256", "rsa")] {
                let minter = try TokenMinter(signingKey: directory.spec("o", algorithm, name + ".pem"))
                let verifier = try TokenVerifier(.init(keys: [directory.spec("o", algorithm, name + ".pub.pem")]))
                let token = try minter.mint(
                    subject: name, grants: grants(subscribe: ["board"]), lifetime: .seconds(60), tokenID: nil,
                    issuer: nil, audience: nil, now: FixedTime.now)
                #expect(try verifier.verify(token, now: FixedTime.now).subject == name)
            }
        }
    }
}
