import Foundation
import LocalRedis
import RedisClient
import SSETestSupport
import Testing

/// Issue 12, finding 6: a publish that timed out (503) may still have run once Redis woke up, so a client that
/// retried published twice. With an `Idempotency-Key`, a repeat on the same topic within the window answers the
/// first id and publishes nothing.
@Suite("Retry-safe publishing with an idempotency key (real processes)")
struct IdempotentPublishTests {
    static func publish(_ stack: BoardStack, _ body: String, key: String?) async throws -> HTTPProbe.Response {
        let headers = PublishAPITests.authorized + (key.map { [("Idempotency-Key", $0)] } ?? [])
        return try await stack.publisher.send("POST", "/publish", headers: headers, body: body)
    }

    static func historyIDs(_ stack: BoardStack, topic: String) async throws -> [String] {
        let entries = try await stack.connection.send("XRANGE", "sse:{\(topic)}:history", "-", "+").array ?? []
        return entries.compactMap { $0.array?.first?.string }
    }

    @Test func aRetryAfterATimedOutPublishAnswersTheFirstIDAndTheEventArrivesOnce() async throws {
        try await BoardStack.with { stack in
            let client = try await SSETestClient.open(port: stack.gateway.port, path: "/sse?topic=news")
            try await client.waitUntilConnected()
            defer { client.close() }
            let body = #"{"topic":"news","data":"exactly once"}"#

            stack.redis.pause()
            let paused = ContinuousClock.now
            let timedOut = try await Self.publish(stack, body, key: "order-17")
            #expect(timedOut.status == 503)
            #expect(timedOut.header("Retry-After") == "1")
            let remaining = .seconds(5) - (ContinuousClock.now - paused)
            if remaining > .zero { try await Task.sleep(for: remaining) }
            stack.redis.resume()
            // The timed-out FCALL was already in Redis's socket: it runs once Redis wakes up.
            try await waitUntil("the timed-out publish ran", timeout: .seconds(5)) {
                try await Self.historyIDs(stack, topic: "news").count == 1
            }
            let first = try await Self.historyIDs(stack, topic: "news")[0]

            let retried = try await Self.publish(stack, body, key: "order-17")
            #expect(retried.status == 202)
            #expect(retried.header("Idempotent-Replay") == "true")
            #expect(retried.body == "{\"id\":\"\(first)\",\"topic\":\"news\"}\n")
            #expect(try await Self.historyIDs(stack, topic: "news") == [first])

            let after = try await Self.publish(stack, #"{"topic":"news","data":"next"}"#, key: nil)
            #expect(after.status == 202)
            try await client.waitForEvents(2, timeout: .seconds(20))
            let ids = try await Self.historyIDs(stack, topic: "news")
            #expect(ids.count == 2)
            #expect(client.events.map(\.data) == ["exactly once", "next"])
            #expect(client.events.map(\.id) == ids)
        }
    }

    @Test func aRepeatedKeyAnswersTheFirstIDPerTopicAndBadKeysAre400() async throws {
        try await BoardStack.with { stack in
            let first = try await Self.publish(stack, #"{"topic":"news","data":"a"}"#, key: "k-1")
            #expect(first.status == 202)
            #expect(first.header("Idempotent-Replay") == nil)
            // The key names the publish: a repeat's body is not compared, it gets the first answer.
            let repeated = try await Self.publish(stack, #"{"topic":"news","data":"b"}"#, key: "k-1")
            #expect(repeated.status == 202)
            #expect(repeated.header("Idempotent-Replay") == "true")
            #expect(repeated.body == first.body)
            #expect(try await Self.historyIDs(stack, topic: "news").count == 1)
            let ttl = try await stack.connection.send("TTL", "sse:{news}:idem:k-1").int ?? -9
            #expect((86390...86400).contains(ttl))

            let otherTopic = try await Self.publish(stack, #"{"topic":"sport","data":"a"}"#, key: "k-1")
            #expect(otherTopic.status == 202)
            #expect(otherTopic.header("Idempotent-Replay") == nil)
            #expect(otherTopic.body != first.body)
            let otherKey = try await Self.publish(stack, #"{"topic":"news","data":"c"}"#, key: "k-2")
            #expect(otherKey.header("Idempotent-Replay") == nil)
            #expect(try await Self.historyIDs(stack, topic: "news").count == 2)

            // A refused body does not use up its key.
            let invalid = try await Self.publish(stack, #"{"topic":"news"}"#, key: "k-3")
            #expect(invalid.status == 422)
            let valid = try await Self.publish(stack, #"{"topic":"news","data":"d"}"#, key: "k-3")
            #expect(valid.status == 202)
            #expect(valid.header("Idempotent-Replay") == nil)

            let rule = "use 1–200 printable ASCII characters (space to ~)"
            for (key, message) in [
                (String(repeating: "x", count: 201), "Idempotency-Key of 201 characters is too long: \(rule)"),
                ("ключ", "Idempotency-Key \"ключ\" is invalid: \(rule)"),
                ("a\tb", "Idempotency-Key \"a\\tb\" is invalid: \(rule)"),
            ] {
                let response = try await Self.publish(stack, #"{"topic":"news","data":"x"}"#, key: key)
                #expect(response.status == 400, "\(key)")
                #expect(response.body == message + "\n")
            }
            let twice = try await stack.publisher.send(
                "POST", "/publish",
                headers: PublishAPITests.authorized + [("Idempotency-Key", "a"), ("Idempotency-Key", "b")],
                body: #"{"topic":"news","data":"x"}"#)
            #expect(twice.status == 400)
            #expect(twice.body == "Idempotency-Key is given 2 times: send one key\n")
            let empty = try await stack.publisher.send(
                "POST", "/publish", headers: PublishAPITests.authorized + [("Idempotency-Key", "")],
                body: #"{"topic":"news","data":"x"}"#)
            #expect(empty.status == 400)
            #expect(empty.body == "Idempotency-Key is empty: \(rule)\n")
            #expect(try await Self.historyIDs(stack, topic: "news").count == 3)
        }
    }

    @Test func theWindowIsASettingAndSSECtlTakesAKey() async throws {
        try await BoardStack.with(publisherArguments: ["--idempotency-window", "120"]) { stack in
            let first = try await Self.publish(stack, #"{"topic":"news","data":"a"}"#, key: "w")
            #expect(first.status == 202)
            let ttl = try await stack.connection.send("TTL", "sse:{news}:idem:w").int ?? -9
            #expect((110...120).contains(ttl))

            let ssectl = URL(fileURLWithPath: PublisherProcess.executable).deletingLastPathComponent()
                .appendingPathComponent("ssectl").path
            var printed: [String] = []
            for _ in 0..<2 {
                let result = try await runProgram(
                    ssectl,
                    ["publish", "--redis-url", stack.redis.url, "--idempotency-key", "cli-1", "news", "from ssectl"],
                    timeout: .seconds(30))
                #expect(result.status == 0, "\(result.output)")
                printed.append(result.output.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            #expect(printed[0] == printed[1])
            let ids = try await Self.historyIDs(stack, topic: "news")
            #expect(ids.count == 2)
            #expect(ids.last == printed[0])
            let bad = try await runProgram(
                ssectl, ["publish", "--redis-url", stack.redis.url, "--idempotency-key", "", "news", "x"],
                timeout: .seconds(30))
            #expect(bad.status == 64)
            #expect(bad.output.contains("idempotency key is empty: use 1–200 printable ASCII characters (space to ~)"))
        }
    }
}
