import Foundation
import LocalRedis
import SSEAuth
import SSETestSupport
import Testing

/// Issue 14, point 8: `POST /publish` also takes a JWT whose `publish` grants cover the topic; the static token
/// stays the administrator's key for every topic.
@Suite("Scoped publish tokens on POST /publish (real processes)")
struct ScopedPublishTokenTests {
    static func publish(
        _ stack: VisitorStack, token: String, topic: String
    ) async throws -> HTTPProbe.Response {
        try await stack.publisher.send(
            "POST", "/publish", headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")],
            body: #"{"topic":"\#(topic)","data":"hello \#(topic)"}"#)
    }

    static func invalidChallenge(_ description: String) -> String {
        #"Bearer realm="sse-publisher", error="invalid_token", error_description="\#(description)""#
    }

    @Test func aTokenPublishesOnlyOnTopicsItsGrantsCoverAndABadOneIsRefusedWithItsReason() async throws {
        try await VisitorStack.with { stack in
            let news = try await stack.mint(publish: ["news.*"])
            let stream = try await SSETestClient.open(
                port: stack.gateway.port, path: "/sse?topic=news.eu",
                headers: [("Authorization", "Bearer \(try await stack.mint(subscribe: ["news.*"]))")])
            defer { stream.close() }
            try await stream.waitUntilConnected()

            let granted = try await Self.publish(stack, token: news, topic: "news.eu")
            #expect(granted.status == 202, "\(granted.body)")
            let id = try #require(
                granted.body.split(separator: "\"").dropFirst(3).first.map(String.init), "\(granted.body)")
            #expect(granted.body == #"{"id":"\#(id)","topic":"news.eu"}"# + "\n")
            try await stream.waitForEvents(1)
            #expect(stream.events == [SSETestClient.Event(id: id, data: "hello news.eu")])

            for topic in ["board", "news"] {
                let refused = try await Self.publish(stack, token: news, topic: topic)
                #expect(refused.status == 403)
                #expect(refused.body == "topic \"\(topic)\" is not granted for publishing by the token\n")
                #expect(
                    refused.header("WWW-Authenticate") == #"Bearer realm="sse-publisher", error="insufficient_scope""#)
            }
            // A subscriber's token publishes nowhere.
            let reader = try await Self.publish(stack, token: try await stack.mint(subscribe: ["*"]), topic: "news.eu")
            #expect(reader.status == 403)
            #expect(reader.body == "topic \"news.eu\" is not granted for publishing by the token\n")

            let forged = TestTokens.hmac(
                header: #"{"alg":"HS256","typ":"JWT","kid":"demo"}"#,
                payload: #"{"exp":\#(TestTokens.unixTime(300)),"sse":{"publish":["*"]}}"#,
                key: Array("another-secret-of-at-least-32-bytes-long".utf8))
            let expired = try await stack.mint(
                publish: ["*"], lifetime: .seconds(60), now: Date(timeIntervalSinceNow: -3600))
            let unsigned = TestTokens.unsigned(
                payload: #"{"exp":\#(TestTokens.unixTime(300)),"sse":{"publish":["*"]}}"#)
            let cases: [(token: String, description: String)] = [
                (forged, "access token signature does not verify"),
                (expired, "access token has expired"),
                (unsigned, "algorithm none is refused: tokens must be signed"),
            ]
            for (token, description) in cases {
                let refused = try await Self.publish(stack, token: token, topic: "news.eu")
                #expect(refused.status == 401, "\(description)")
                #expect(refused.body == description + "\n")
                #expect(refused.header("WWW-Authenticate") == Self.invalidChallenge(description))
            }
            #expect(stream.events.count == 1, "nothing refused was published")

            // The static token is the administrator's: every topic. Something that is no JWT is a wrong token.
            let admin = try await Self.publish(stack, token: BoardStack.token, topic: "news.eu")
            #expect(admin.status == 202)
            let wrong = try await Self.publish(stack, token: "not-the-token", topic: "news.eu")
            #expect(wrong.status == 403)
            #expect(wrong.body == "bearer token is not valid for this service\n")
            try await stream.waitForEvents(2)
            #expect(stream.events.map(\.data) == ["hello news.eu", "hello news.eu"])
        }
    }

    /// A revoked token id, or a revoked subject's older tokens, may not publish: the publisher hears `ssectl revoke`
    /// on the control channel like a gateway node, and a publisher started later loads the revocations kept in
    /// Redis before it honours any scoped token.
    @Test func revokedTokensMayNotPublishAndALaterPublisherLoadsTheRevocationsFromRedis() async throws {
        try await VisitorStack.with { stack in
            let first = try await stack.mint(publish: ["news.*"], subject: "svc-a", tokenID: "a-1")
            let second = try await stack.mint(publish: ["news.*"], subject: "svc-b", tokenID: "b-1")
            let revoked = "access token has been revoked"

            /// The status of a publish once the publisher has loaded the revocations (503 until then).
            func status(_ token: String, on publisher: PublisherProcess) async throws -> HTTPProbe.Response {
                var answer: HTTPProbe.Response?
                try await waitUntil("the revocations to be loaded") {
                    answer = try await publisher.send(
                        "POST", "/publish",
                        headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")],
                        body: #"{"topic":"news.eu","data":"x"}"#)
                    return answer?.status != 503
                }
                return try #require(answer)
            }
            #expect(try await status(first, on: stack.publisher).status == 202)

            func revoke(_ arguments: [String]) async throws {
                let result = try await runProgram(
                    SSECtlProgram.executable, ["revoke", "--redis-url", stack.redis.url] + arguments)
                #expect(result.status == 0, "\(result.output)")
                // The gateway node and the publisher both heard it.
                #expect(result.output == "2\n")
            }
            try await revoke(["--token", "a-1"])
            try await waitUntil("the token id to be refused") {
                try await Self.publish(stack, token: first, topic: "news.eu").status == 401
            }
            let refused = try await Self.publish(stack, token: first, topic: "news.eu")
            #expect(refused.body == revoked + "\n")
            #expect(refused.header("WWW-Authenticate") == Self.invalidChallenge(revoked))
            #expect(try await Self.publish(stack, token: second, topic: "news.eu").status == 202)

            // A subject: its tokens issued until now are refused; one issued later is not.
            try await revoke(["--subject", "svc-b"])
            try await waitUntil("the subject's token to be refused") {
                try await Self.publish(stack, token: second, topic: "news.eu").status == 401
            }
            let newer = try await stack.mint(publish: ["news.*"], subject: "svc-b", now: Date(timeIntervalSinceNow: 2))
            #expect(try await Self.publish(stack, token: newer, topic: "news.eu").status == 202)
            // The administrator's static token is not a JWT and is never revoked.
            #expect(try await Self.publish(stack, token: BoardStack.token, topic: "news.eu").status == 202)

            // A publisher started now heard neither message: it loads both from Redis before taking a scoped token.
            let later = try await PublisherProcess.start(
                redis: stack.redis, arguments: ["--token-key", "demo=HS256:\(stack.secretFile)"],
                environment: ["SSE_PUBLISH_TOKEN": BoardStack.token])
            let laterFirst = try await status(first, on: later)
            #expect(laterFirst.status == 401 && laterFirst.body == revoked + "\n")
            #expect(try await status(second, on: later).status == 401)
            #expect(try await status(newer, on: later).status == 202)
        }
    }
}
