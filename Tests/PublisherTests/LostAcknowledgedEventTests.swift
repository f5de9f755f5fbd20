import Foundation
import LocalRedis
import RedisClient
import SSETestSupport
import Testing

/// The publisher process checks, after its Redis connection was replaced, that the last event Redis acknowledged on
/// each topic is still there, and marks one that was lost with a `resync` event (``AcknowledgementWatch``).
@Suite("The publisher tells an acknowledged event lost in a failover (real processes)")
struct LostAcknowledgedEventTests {
    static func lostCount(_ stack: BoardStack) async throws -> String? {
        let metrics = try await HTTPProbe.get(port: stack.publisher.port, path: "/metrics")
        return metrics.body.split(separator: "\n").first { $0.hasPrefix("sse_publisher_lost_events_total ") }
            .map { String($0.split(separator: " ")[1]) }
    }

    @Test func aLostPublishIsMarkedInItsTopicsHistoryWithinSecondsOfTheReconnect() async throws {
        try await BoardStack.with { stack in
            func publish(_ data: String) async throws -> String {
                let answer = try await stack.publisher.send(
                    "POST", "/publish", headers: PublishAPITests.authorized,
                    body: #"{"topic":"news","data":"\#(data)"}"#)
                #expect(answer.status == 202)
                return try #require(try await IdempotentPublishTests.historyIDs(stack, topic: "news").last)
            }
            let kept = try await publish("kept")
            let lost = try await publish("lost")
            #expect(try await Self.lostCount(stack) == "0")

            // As the promoted replica has it: no `lost`, the clock before it; the publisher's connections go.
            try await dropStreamEntry(lost, of: "sse:{news}:history", on: stack.connection)
            _ = try await stack.connection.send("HSET", "sse:clock", "last", kept)
            _ = try await stack.connection.send("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")

            try await waitUntil("the publisher marks the lost event", timeout: .seconds(10)) {
                try await IdempotentPublishTests.historyIDs(stack, topic: "news").count == 2
            }
            let entries = try await stack.connection.send("XRANGE", "sse:{news}:history", "-", "+").array ?? []
            let marker = try #require(entries.last?.array)
            #expect(
                marker[1].array?.compactMap(\.string)
                    == ["e", "resync", "d", #"{"reason":"events-lost","topics":["news"]}"#])
            #expect(try await Self.lostCount(stack) == "1")
            // Once: later rounds find the marker held.
            try await Task.sleep(for: .seconds(2))
            #expect(try await IdempotentPublishTests.historyIDs(stack, topic: "news").count == 2)
        }
    }
}
