import Foundation
import Gateway
import LocalRedis
import SSETestSupport
import Testing

/// Issue 14, point 11: every kind of bad token gets its status, `WWW-Authenticate` and exact one-line body from a real
/// gateway, which keeps serving the stream that was open before (the verifier's own table is in SSEAuthTests).
@Suite("Bad tokens answered by a real gateway (real redis-server and sse-gateway)")
struct BadTokenAnswersTests {
    struct Case {
        var name: String
        var headers: [(String, String)]
        var status: Int
        var body: String
        /// The `error` of `WWW-Authenticate` (nil: none, as for a missing token).
        var error: String? = "invalid_token"
    }

    static let secret = PrivateTopicsTests.key.secret

    static func hs(_ header: String, _ payload: String, key: [UInt8] = secret, bits: Int = 256) -> String {
        TestTokens.hmac(header: header, payload: payload, key: key, bits: bits)
    }

    static func claims(_ extra: String = "", exp: Int = 300) -> String {
        #"{"exp":\#(TestTokens.unixTime(exp)),"iss":"https://id.example","aud":"sse-gateway","sse":{"subscribe":["user.42"]}\#(extra)}"#
    }

    static let main = #"{"alg":"HS256","kid":"main"}"#

    static func bearer(_ token: String) -> [(String, String)] { [("Authorization", "Bearer \(token)")] }

    static func cases(rsaPublicPEM: [UInt8]) -> [Case] {
        let good = hs(main, claims())
        var tampered = Array(good.utf8)
        tampered[tampered.count - 3] =
            tampered[tampered.count - 3] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        return [
            Case(
                name: "no token", headers: [], status: 401,
                body: "missing token: send an Authorization: Bearer header or the sse_token cookie", error: nil),
            Case(
                name: "bad signature",
                headers: bearer(hs(main, claims(), key: Array("another secret of 32 bytes or more!".utf8))),
                status: 401, body: "access token signature does not verify"),
            Case(
                name: "changed after signing", headers: bearer(String(decoding: tampered, as: UTF8.self)), status: 401,
                body: "access token signature does not verify"),
            Case(
                name: "wrong algorithm", headers: bearer(hs(#"{"alg":"HS384","kid":"main"}"#, claims(), bits: 384)),
                status: 401, body: "algorithm HS384 is not the one configured for key main (HS256)"),
            Case(
                name: "alg none", headers: bearer(TestTokens.unsigned(payload: claims())), status: 401,
                body: "algorithm none is refused: tokens must be signed"),
            Case(
                name: "a public key used as an HMAC secret",
                headers: bearer(hs(#"{"alg":"HS256","kid":"rsa1"}"#, claims(), key: rsaPublicPEM)), status: 401,
                body: "algorithm HS256 is not the one configured for key rsa1 (RS256)"),
            Case(
                name: "expired", headers: bearer(hs(main, claims(exp: -60))), status: 401,
                body: "access token has expired"),
            Case(
                name: "not yet valid", headers: bearer(hs(main, claims(#","nbf":\#(TestTokens.unixTime(60))"#))),
                status: 401, body: "access token is not valid yet"),
            Case(
                name: "wrong issuer",
                headers: bearer(
                    hs(main, claims().replacingOccurrences(of: "https://id.example", with: "https://evil"))),
                status: 401, body: "access token is from another issuer"),
            Case(
                name: "wrong audience",
                headers: bearer(hs(main, claims().replacingOccurrences(of: "sse-gateway", with: "billing"))),
                status: 401, body: "access token is for another audience"),
            Case(
                name: "no grants claim",
                headers: bearer(
                    hs(main, #"{"exp":\#(TestTokens.unixTime(300)),"iss":"https://id.example","aud":"sse-gateway"}"#)),
                status: 401, body: "access token is malformed: the grants claim sse is missing"),
            Case(
                name: "grants without the topic",
                headers: bearer(hs(main, claims().replacingOccurrences(of: "user.42", with: "user.43"))),
                status: 403, body: "topic \"user.42\" is not granted by the token", error: "insufficient_scope"),
            Case(
                name: "unknown key", headers: bearer(hs(#"{"alg":"HS256","kid":"old"}"#, claims())), status: 401,
                body: "access token names key \"old\", which is not configured"),
            Case(
                name: "a 10 KB token",
                headers: bearer(hs(main, claims(#","pad":"\#(String(repeating: "x", count: 10_000))""#))),
                status: 401, body: "access token is longer than 8192 bytes"),
            Case(
                name: "a 64 KB token", headers: bearer(String(repeating: "a", count: 65_536)), status: 431,
                body: "request headers too large: at most 16384 bytes", error: nil),
            Case(
                name: "broken base64", headers: bearer("e!!.e30.c2ln"), status: 401,
                body: "access token is malformed: the header is not base64url"),
            Case(
                name: "broken JSON",
                headers: bearer(TestTokens.base64url(Array("{nope".utf8)) + ".e30." + TestTokens.base64url([1, 2, 3])),
                status: 401, body: "access token is malformed: the header is not a JSON object"),
            Case(
                name: "two segments", headers: bearer("e30.e30"), status: 401,
                body: "access token is malformed: expected three dot-separated parts, found 2"),
        ]
    }

    @Test func eachBadTokenGetsItsStatusAndExactBodyAndTheOpenStreamGoesOn() async throws {
        let directory = NSTemporaryDirectory() + "bad-tokens-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data(Self.secret).write(to: URL(fileURLWithPath: directory + "/secret"))
        for arguments in [
            ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", directory + "/rsa.pem"],
            ["pkey", "-in", directory + "/rsa.pem", "-pubout", "-out", directory + "/rsa.pub.pem"],
        ] {
            let result = try await runProgram("/usr/bin/openssl", arguments, timeout: .seconds(60))
            try #require(result.status == 0, "openssl: \(result.output)")
        }
        let publicPEM = try [UInt8](Data(contentsOf: URL(fileURLWithPath: directory + "/rsa.pub.pem")))
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(
                redis: redis,
                arguments: [
                    "--token-key", "main=HS256:\(directory)/secret", "--token-key",
                    "rsa1=RS256:\(directory)/rsa.pub.pem",
                    "--token-issuer", "https://id.example", "--token-audience", "sse-gateway",
                ])
            let publisher = try await TestPublisher.connect(redis)
            defer { publisher.close() }
            let good = Self.hs(Self.main, Self.claims())
            let bystander = try await SSETestClient.open(
                port: node.port, path: "/sse?topic=user.42", headers: Self.bearer(good))
            defer { bystander.close() }
            try await bystander.waitUntilConnected()

            for item in Self.cases(rsaPublicPEM: publicPEM) {
                let answer = try await HTTPProbe.get(port: node.port, path: "/sse?topic=user.42", headers: item.headers)
                #expect(answer.status == item.status, "\(item.name)")
                #expect(answer.body == item.body + "\n", "\(item.name)")
                let challenge = answer.header("WWW-Authenticate")
                switch (item.status, item.error) {
                case (431, _): #expect(challenge == nil, "\(item.name)")
                case (_, nil): #expect(challenge == #"Bearer realm="sse""#, "\(item.name)")
                case (_, let error?):
                    #expect(challenge?.hasPrefix(#"Bearer realm="sse", error="\#(error)""#) == true, "\(item.name)")
                }
                // The body and the header never repeat the token.
                if let token = item.headers.first?.1.dropFirst("Bearer ".count), token.count > 8 {
                    #expect(!answer.head.contains(String(token)), "\(item.name)")
                    #expect(!answer.body.contains(String(token)), "\(item.name)")
                }
            }

            let id = try await publisher.publish("user.42", "still here")
            try await bystander.waitForEvents(1)
            #expect(bystander.events.map(\.id) == [id])
            #expect(node.reapIfExited() == nil)
            let refusals = try await node.metrics().auth.refusals
            #expect(refusals["bad_signature"] == 2)
            #expect(refusals["algorithm"] == 3)
            #expect(refusals["malformed"] == 4)
            #expect(refusals["missing"] == 1)
            #expect(refusals["not_granted"] == 1)
            #expect(refusals["too_large"] == 1)
            #expect(refusals["unknown_key"] == 1)
            for reason in ["expired", "not_yet_valid", "wrong_issuer", "wrong_audience"] {
                #expect(refusals[reason] == 1, "\(reason)")
            }
        }
    }
}
