import CryptoExtras
import Foundation
import SSEAuth
import Testing

/// One token that must be refused, with exactly how.
struct BadToken: Sendable, CustomTestStringConvertible {
    /// Which keys the verifier has.
    enum Keys: Sendable {
        /// `main=HS256` and `rsa1=RS256`.
        case standard
        /// `rsa1=RS256` alone.
        case onlyRSA
    }

    let name: String
    var keys = Keys.standard
    let rejection: TokenRejection
    let message: String
    let token: @Sendable () -> String

    var testDescription: String { name }
}

extension BadToken {
    static let publicKeyPEM = Array(KeyFixture.shared.rsa.publicKey.pemRepresentation.utf8)
    static let hostileKeyID = "x\n" + String(repeating: "y", count: 100)

    static let all: [BadToken] = [
        BadToken(
            name: "a signature made with another secret", rejection: .badSignature,
            message: "access token signature does not verify",
            token: { Forge.signed(secret: KeyFixture.shared.otherSecret256) }),
        BadToken(
            name: "a payload changed after signing", rejection: .badSignature,
            message: "access token signature does not verify",
            token: {
                let parts = Forge.signed().split(separator: ".")
                let granted = Forge.claims { $0["sse"] = ["subscribe": ["*"]] }
                return "\(parts[0]).\(Forge.encoded(granted)).\(parts[2])"
            }),
        BadToken(
            name: "an HS384 token for the HS256 key", rejection: .algorithm(hs384ForMain),
            message: hs384ForMain,
            token: {
                Forge.hmac384(
                    segments: Forge.encoded(#"{"alg":"HS384","kid":"main"}"#) + "." + Forge.encoded(Forge.claims()),
                    secret: KeyFixture.shared.secret256)
            }),
        BadToken(
            name: "an HS384 token without kid", rejection: .algorithm("algorithm HS384 is not configured for any key"),
            message: "algorithm HS384 is not configured for any key",
            token: {
                Forge.hmac384(
                    segments: Forge.encoded(#"{"alg":"HS384"}"#) + "." + Forge.encoded(Forge.claims()),
                    secret: KeyFixture.shared.secret256)
            }),
        BadToken(
            name: "alg none, unsigned", rejection: .algorithm(noneRefused), message: noneRefused,
            token: { Forge.encoded(#"{"alg":"none"}"#) + "." + Forge.encoded(Forge.claims()) + "." }),
        BadToken(
            name: "alg None naming the HS256 key", rejection: .algorithm(noneRefusedCapital),
            message: noneRefusedCapital,
            token: { Forge.encoded(#"{"alg":"None","kid":"main"}"#) + "." + Forge.encoded(Forge.claims()) + "." }),
        BadToken(
            name: "the RSA public key as an HMAC secret, naming the RSA key", rejection: .algorithm(hs256ForRSA),
            message: hs256ForRSA,
            token: { Forge.signed(header: #"{"alg":"HS256","kid":"rsa1"}"#, secret: publicKeyPEM) }),
        BadToken(
            name: "the RSA public key as an HMAC secret, no kid, only the RSA key configured", keys: .onlyRSA,
            rejection: .algorithm("algorithm HS256 is not configured for any key"),
            message: "algorithm HS256 is not configured for any key",
            token: { Forge.signed(header: #"{"alg":"HS256"}"#, secret: publicKeyPEM) }),
        BadToken(
            name: "the RSA public key as an HMAC secret, no kid, an HS256 key configured too",
            rejection: .badSignature, message: "access token signature does not verify",
            token: { Forge.signed(header: #"{"alg":"HS256"}"#, secret: publicKeyPEM) }),
        BadToken(
            name: "expired a minute ago", rejection: .expired, message: "access token has expired",
            token: { Forge.signed(Forge.claims { $0["exp"] = FixedTime.seconds - 60 }) }),
        BadToken(
            name: "not valid before a minute from now", rejection: .notYetValid,
            message: "access token is not valid yet",
            token: { Forge.signed(Forge.claims { $0["nbf"] = FixedTime.seconds + 60 }) }),
        BadToken(
            name: "issued a minute in the future", rejection: .notYetValid, message: "access token is not valid yet",
            token: { Forge.signed(Forge.claims { $0["iat"] = FixedTime.seconds + 60 }) }),
        BadToken(
            name: "another issuer", rejection: .wrongIssuer, message: "access token is from another issuer",
            token: { Forge.signed(Forge.claims { $0["iss"] = "https://other.example" }) }),
        BadToken(
            name: "no issuer", rejection: .wrongIssuer, message: "access token is from another issuer",
            token: { Forge.signed(Forge.claims { $0["iss"] = nil }) }),
        BadToken(
            name: "another audience", rejection: .wrongAudience, message: "access token is for another audience",
            token: { Forge.signed(Forge.claims { $0["aud"] = "billing" }) }),
        BadToken(
            name: "an audience list without ours", rejection: .wrongAudience,
            message: "access token is for another audience",
            token: { Forge.signed(Forge.claims { $0["aud"] = ["billing", "search"] }) }),
        malformed("no exp", "exp is required") { $0["exp"] = nil },
        malformed("exp as a string", "exp must be a number (seconds since 1970)") { $0["exp"] = "tomorrow" },
        malformed("nbf as a string", "nbf must be a number (seconds since 1970)") { $0["nbf"] = "now" },
        malformed("no grants claim", "the grants claim sse is missing") { $0["sse"] = nil },
        malformed("grants as a list", "the grants claim sse is not an object") { $0["sse"] = ["board"] },
        malformed("a subscribe entry that is a number", "sse.subscribe is not an array of strings") {
            $0["sse"] = ["subscribe": ["board", 7]]
        },
        malformed("subscribe as a string", "sse.subscribe is not an array of strings") {
            $0["sse"] = ["subscribe": "board"]
        },
        malformed("a subscribe entry a*", #"sse.subscribe has "a*", which is not a topic pattern"#) {
            $0["sse"] = ["subscribe": ["board", "a*"]]
        },
        malformed("a publish entry with a space", #"sse.publish has "bad topic", which is not a topic pattern"#) {
            $0["sse"] = ["publish": ["bad topic"]]
        },
        malformed("a numeric subject", "sub must be a string") { $0["sub"] = 42 },
        malformed("a numeric token id", "jti must be a string") { $0["jti"] = 7 },
        BadToken(
            name: "an unknown kid", rejection: .unknownKey("old"),
            message: #"access token names key "old", which is not configured"#,
            token: { Forge.signed(header: #"{"alg":"HS256","kid":"old"}"#) }),
        BadToken(
            name: "a long kid with a line break", rejection: .unknownKey(hostileKeyID),
            message: #"access token names key "x\n"# + String(repeating: "y", count: 38)
                + #""…, which is not configured"#,
            token: { Forge.signed(header: #"{"alg":"HS256","kid":"x\n"# + String(repeating: "y", count: 100) + #""}"#) }
        ),
        header("a numeric kid", #"{"alg":"HS256","kid":7}"#, "the header's kid is not a string"),
        header("no alg", #"{"kid":"main"}"#, "the header has no alg"),
        header(
            "a crit extension", #"{"alg":"HS256","kid":"main","crit":["exp"]}"#,
            "the header lists crit extensions, none is supported"),
        header("a header that is not JSON", "alg=HS256", "the header is not a JSON object"),
        header("a header that is a JSON list", #"["HS256"]"#, "the header is not a JSON object"),
        BadToken(
            name: "a 64 KB token", rejection: .tooLarge(limit: 8192), message: "access token is longer than 8192 bytes",
            token: { Forge.signed(Forge.claims { $0["pad"] = String(repeating: "p", count: 48 * 1024) }) }),
        BadToken(name: "an empty token", rejection: .missing, message: "access token is missing", token: { "" }),
        BadToken(
            name: "a header that is not base64url", rejection: .malformed("the header is not base64url"),
            message: "access token is malformed: the header is not base64url",
            token: { "eyJhbGciOi+IUzI1NiJ9." + Forge.encoded(Forge.claims()) + ".c2ln" }),
        BadToken(
            name: "a signature that is not base64url", rejection: .malformed("the signature is not base64url"),
            message: "access token is malformed: the signature is not base64url",
            token: { Forge.signed() + "=" }),
        BadToken(
            name: "a signed payload that is not base64url", rejection: .malformed("the payload is not base64url"),
            message: "access token is malformed: the payload is not base64url",
            token: {
                Forge.hmac256(segments: Forge.encoded(Forge.header) + ".e30*", secret: KeyFixture.shared.secret256)
            }),
        BadToken(
            name: "a signed payload that is not JSON", rejection: .malformed("the payload is not a JSON object"),
            message: "access token is malformed: the payload is not a JSON object",
            token: { Forge.signed(#"{"exp":1800000600,"sse":{}"#) }),
        BadToken(
            name: "only two segments", rejection: .malformed("expected three dot-separated parts, found 2"),
            message: "access token is malformed: expected three dot-separated parts, found 2",
            token: { Forge.encoded(Forge.header) + "." + Forge.encoded(Forge.claims()) }),
        BadToken(
            name: "five segments (an encrypted token)",
            rejection: .malformed("expected three dot-separated parts, found 5"),
            message: "access token is malformed: expected three dot-separated parts, found 5",
            token: { Forge.signed() + ".a.b" }),
    ]

    static let hs384ForMain = "algorithm HS384 is not the one configured for key main (HS256)"
    static let hs256ForRSA = "algorithm HS256 is not the one configured for key rsa1 (RS256)"
    static let noneRefused = "algorithm none is refused: tokens must be signed"
    static let noneRefusedCapital = "algorithm None is refused: tokens must be signed"

    /// A correctly signed token whose payload has one thing wrong.
    static func malformed(
        _ name: String, _ why: String, _ change: @escaping @Sendable (inout [String: Any]) -> Void
    ) -> BadToken {
        BadToken(
            name: name, rejection: .malformed(why), message: "access token is malformed: \(why)",
            token: { Forge.signed(Forge.claims(change)) })
    }

    /// A token signed with the `main` secret under a header with one thing wrong.
    static func header(_ name: String, _ header: String, _ why: String) -> BadToken {
        BadToken(
            name: name, rejection: .malformed(why), message: "access token is malformed: \(why)",
            token: { Forge.signed(header: header) })
    }
}

@Suite("Refused access tokens")
struct BadTokenTests {
    static func verifier(_ keys: BadToken.Keys, in directory: KeyDirectory) async throws -> TokenVerifier {
        var specs = [try directory.spec("rsa1", "RS256", "rsa.pub.pem")]
        if keys == .standard { specs.insert(try directory.spec("main", "HS256", "hs256"), at: 0) }
        return try await TokenVerifier(
            .init(keys: specs, issuer: Forge.issuer, audience: Forge.audience))
    }

    @Test("each bad token is refused with its rejection and its exact message", arguments: BadToken.all)
    func badTokenIsRefused(_ bad: BadToken) async throws {
        try await KeyDirectory.with { directory in
            try directory.writeFixture()
            let verifier = try await Self.verifier(bad.keys, in: directory)
            let token = bad.token()
            let error = #expect(throws: TokenRejection.self) { try verifier.verify(token, now: FixedTime.now) }
            #expect(error == bad.rejection)
            #expect(error?.description == bad.message)
            #expect((error?.description.count ?? 0) <= 200)
            if token.count > 10 { #expect(error?.description.contains(token) == false) }
        }
    }

    @Test("the standard token of the table passes, so each refusal is caused by its one change")
    func standardTokenPasses() async throws {
        try await KeyDirectory.with { directory in
            try directory.writeFixture()
            let token = try await Self.verifier(.standard, in: directory).verify(Forge.signed(), now: FixedTime.now)
            #expect(token.subject == "42")
            #expect(token.expiresAt == Date(timeIntervalSince1970: Double(FixedTime.seconds + 600)))
            #expect(token.grants == grants(subscribe: ["board", "user.42"]))
        }
    }

    @Test("each rejection has its stable metrics label")
    func rejectionReasons() {
        let labels = [
            TokenRejection.missing, .tooLarge(limit: 1), .malformed("x"), .unknownKey("k"), .algorithm("a"),
            .badSignature, .expired, .notYetValid, .wrongIssuer, .wrongAudience, .revoked,
        ].map(\.reason)
        #expect(
            labels == [
                "missing", "too_large", "malformed", "unknown_key", "algorithm", "bad_signature", "expired",
                "not_yet_valid", "wrong_issuer", "wrong_audience", "revoked",
            ])
        #expect(TokenRejection.revoked.description == "access token has been revoked")
    }
}
