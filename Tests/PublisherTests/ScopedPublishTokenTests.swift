import Foundation
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
}
