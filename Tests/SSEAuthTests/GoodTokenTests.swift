import Crypto
import Foundation
import Testing

@testable import SSEAuth

@Suite("Accepted access tokens")
struct GoodTokenTests {
    /// Each algorithm with the verifier's file (public where there is one) and the minter's file (private).
    static let algorithms: [(algorithm: String, verifierFile: String, minterFile: String)] = [
        ("HS256", "hs256", "hs256"), ("HS384", "hs384", "hs384"), ("HS512", "hs512", "hs512"),
        ("RS256", "rsa.pub.pem", "rsa.pem"), ("ES256", "ec.pub.pem", "ec.pem"), ("EdDSA", "ed.pub.pem", "ed.pem"),
        // A private key PEM given for verification: its public half is used.
        ("RS256", "rsa.pem", "rsa.pem"), ("ES256", "ec.pem", "ec.pem"), ("EdDSA", "ed.pem", "ed.pem"),
    ]

    @Test("a minted token round-trips through the verifier for every algorithm", arguments: algorithms)
    func mintedTokenVerifies(_ row: (algorithm: String, verifierFile: String, minterFile: String)) async throws {
        try await KeyDirectory.with { directory in
            try directory.writeFixture()
            let minter = try await TokenMinter(signingKey: directory.spec("k1", row.algorithm, row.minterFile))
            let verifier = try await TokenVerifier(
                .init(
                    keys: [directory.spec("k1", row.algorithm, row.verifierFile)], issuer: "iss-1", audience: "aud-1"))
            let granted = grants(subscribe: ["board", "org.7.*"], publish: ["visitor.9"])
            let token = try minter.mint(
                subject: "9", grants: granted, lifetime: .seconds(600), tokenID: "t-1", issuer: "iss-1",
                audience: "aud-1", now: FixedTime.now)
            let header = try #require(Base64URL.decode(token.split(separator: ".")[0].utf8))
            #expect(
                String(decoding: header, as: UTF8.self) == #"{"alg":"\#(row.algorithm)","kid":"k1","typ":"JWT"}"#)
            let access = try verifier.verify(token, now: FixedTime.now.addingTimeInterval(599))
            #expect(access.subject == "9")
            #expect(access.tokenID == "t-1")
            #expect(access.issuedAt == FixedTime.now)
            #expect(access.expiresAt == FixedTime.now.addingTimeInterval(600))
            #expect(access.grants == granted)
            #expect(verifier.hasKeys)
            #expect(throws: TokenRejection.expired) {
                try verifier.verify(token, now: FixedTime.now.addingTimeInterval(605))
            }
        }
    }

    @Test("during a rotation tokens of either key verify, with and without kid")
    func rotation() async throws {
        try await KeyDirectory.with { directory in
            try directory.writeFixture()
            let specs = [
                try directory.spec("old", "HS256", "hs256"), try directory.spec("new", "HS256", "hs256-other"),
                try directory.spec("ec-old", "ES256", "ec.pub.pem"),
                try directory.spec("ec-new", "ES256", "ec-other.pub.pem"),
            ]
            let verifier = try await TokenVerifier(.init(keys: specs))
            for (keyID, file) in [
                ("old", "hs256"), ("new", "hs256-other"), ("ec-old", "ec.pem"), ("ec-new", "ec-other.pem"),
            ] {
                let algorithm = keyID.hasPrefix("ec") ? "ES256" : "HS256"
                let minter = try await TokenMinter(signingKey: directory.spec(keyID, algorithm, file))
                let token = try minter.mint(
                    subject: keyID, grants: grants(subscribe: ["board"]), lifetime: .seconds(60), tokenID: nil,
                    issuer: nil, audience: nil, now: FixedTime.now)
                #expect(try verifier.verify(token, now: FixedTime.now).subject == keyID)
                // The same claims under a header without kid: tried against every key of the algorithm.
                let parts = token.split(separator: ".")
                let payload = try #require(Base64URL.decode(parts[1].utf8))
                let bare = try minter.sign(headerJSON: Array(#"{"alg":"\#(algorithm)"}"#.utf8), payloadJSON: payload)
                #expect(try verifier.verify(bare, now: FixedTime.now).subject == keyID)
            }
            // A key the verifier does not have, without kid, is a bad signature, not an unknown key.
            let stranger = try directory.write("hs256-stranger", Array(repeating: UInt8(ascii: "s"), count: 32))
            let minter = try await TokenMinter(signingKey: KeySpec(parsing: "x=HS256:\(stranger)"))
            let token = try minter.sign(
                headerJSON: Array(#"{"alg":"HS256"}"#.utf8), payloadJSON: Array(Forge.claims().utf8))
            #expect(throws: TokenRejection.badSignature) { try verifier.verify(token, now: FixedTime.now) }
        }
    }

    @Test("exp, nbf and iat are honoured with the leeway, to the second")
    func leewayBoundaries() async throws {
        try await KeyDirectory.with { directory in
            try directory.writeFixture()
            let verifier = try await TokenVerifier(.init(keys: [directory.spec("main", "HS256", "hs256")]))
            func check(_ change: (inout [String: Any]) -> Void) -> TokenRejection? {
                let token = Forge.signed(Forge.claims(change))
                do {
                    _ = try verifier.verify(token, now: FixedTime.now)
                    return nil
                } catch {
                    return error
                }
            }
            #expect(check { $0["exp"] = FixedTime.seconds - 3 } == nil)
            #expect(check { $0["exp"] = FixedTime.seconds - 6 } == .expired)
            #expect(check { $0["exp"] = FixedTime.seconds - 5 } == .expired)
            #expect(check { $0["nbf"] = FixedTime.seconds + 4 } == nil)
            #expect(check { $0["nbf"] = FixedTime.seconds + 6 } == .notYetValid)
            #expect(check { $0["iat"] = FixedTime.seconds + 5 } == nil)
            #expect(check { $0["iat"] = FixedTime.seconds + 6 } == .notYetValid)
            let strict = try await TokenVerifier(.init(keys: [directory.spec("main", "HS256", "hs256")], leeway: .zero))
            #expect(throws: TokenRejection.expired) {
                try strict.verify(Forge.signed(Forge.claims { $0["exp"] = FixedTime.seconds }), now: FixedTime.now)
            }
        }
    }

    @Test("issuer and audience are checked only when configured; aud may be a list")
    func issuerAndAudience() async throws {
        try await KeyDirectory.with { directory in
            try directory.writeFixture()
            let spec = try directory.spec("main", "HS256", "hs256")
            let open = try await TokenVerifier(.init(keys: [spec]))
            let token = Forge.signed(
                Forge.claims {
                    $0["iss"] = nil; $0["aud"] = nil
                })
            #expect(try open.verify(token, now: FixedTime.now).subject == "42")
            let checked = try await TokenVerifier(.init(keys: [spec], issuer: Forge.issuer, audience: Forge.audience))
            let listed = Forge.signed(Forge.claims { $0["aud"] = ["billing", Forge.audience] })
            #expect(try checked.verify(listed, now: FixedTime.now).subject == "42")
            #expect(throws: TokenRejection.wrongIssuer) { try checked.verify(token, now: FixedTime.now) }
        }
    }

    @Test("a grants claim under another name, and one with no lists, grant what they say")
    func grantsClaim() async throws {
        try await KeyDirectory.with { directory in
            try directory.writeFixture()
            let spec = try directory.spec("main", "HS256", "hs256")
            let custom = try await TokenVerifier(.init(keys: [spec], claim: "mercure"))
            let token = Forge.signed(
                Forge.claims {
                    $0["sse"] = nil; $0["mercure"] = ["publish": ["org.7.*"]]
                })
            #expect(try custom.verify(token, now: FixedTime.now).grants == grants(publish: ["org.7.*"]))
            let empty = Forge.signed(Forge.claims { $0["sse"] = [String: Any]() })
            #expect(try await TokenVerifier(.init(keys: [spec])).verify(empty, now: FixedTime.now).grants == Grants())
        }
    }

    @Test("without keys the verifier reports that it has none")
    func noKeys() async throws {
        let verifier = try await TokenVerifier(.init())
        #expect(!verifier.hasKeys)
        #expect(throws: TokenRejection.algorithm("algorithm HS256 is not configured for any key")) {
            try verifier.verify(Forge.signed(header: #"{"alg":"HS256"}"#), now: FixedTime.now)
        }
    }
}
