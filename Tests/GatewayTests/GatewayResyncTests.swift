import Foundation
import Gateway
import LocalRedis
import RedisClient
import SSEProtocol
import SSETestSupport
import Testing

@Suite("Gateway resync and subscription lifecycle (real redis-server and sse-gateway)")
struct GatewayResyncTests {
    /// A Last-Event-ID older than the retained history gets `event: resync` (history-trimmed), then live events.
    @Test func idOlderThanRetainedHistoryGetsResyncThenLiveEvents() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(redis: redis)
            let publisher = try await TestPublisher.connect(redis)
            defer { publisher.close() }
            let ids = try await publisher.publishBatch(
                (0..<40).map { (topic: "short", data: "old-\($0)") }, maxLength: 10)
            let client = try await SSETestClient.open(
                port: node.port, path: "/sse?topic=short", headers: [("Last-Event-ID", ids[0])])
            try await client.waitForEvents(1)
            #expect(
                client.events[0]
                    == .init(id: nil, event: "resync", data: #"{"reason":"history-trimmed","topics":["short"]}"#))
            let live = try await publisher.publish("short", "new")
            try await client.waitForEvents(2)
            #expect(client.events == [client.events[0], .init(id: live, event: nil, data: "new")])
            // A recent id inside the retained window replays exactly, with no resync.
            let recent = try await SSETestClient.open(
                port: node.port, path: "/sse?topic=short", headers: [("Last-Event-ID", ids[37])])
            try await recent.waitForEvents(3)
            #expect(recent.events.map(\.id) == [ids[38], ids[39], live])
            let metrics = try await node.metrics()
            #expect(metrics.resyncs == 1)
            #expect(metrics.replayedEvents == 3)
            client.close()
            recent.close()
        }
    }

    /// An id Redis does not know (its data was flushed) gets `event: resync` (unknown-last-event-id), then what the
    /// new data holds.
    @Test func idUnknownToRedisGetsResync() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(redis: redis)
            let publisher = try await TestPublisher.connect(redis)
            defer { publisher.close() }
            let old = try await publisher.publish("lost", "before the flush")
            try await publisher.connection.send("FLUSHALL")
            // The new clock starts from Redis's time: published in the same millisecond as `old`, the first new id
            // would equal it (and `old` would be known again). So publish once Redis's clock has moved past it.
            let oldMilliseconds = try #require(UInt64(old.prefix { $0 != "-" }))
            try await waitUntil("Redis's clock passes \(old)", timeout: .seconds(2), every: .milliseconds(1)) {
                try await Self.redisMilliseconds(publisher) > oldMilliseconds
            }
            // What the new data holds is delivered after the resync: the clock's first event (the origin) included.
            let first = try await publisher.publish("lost", "first after the flush")
            let second = try await publisher.publish("lost", "second after the flush")
            let client = try await SSETestClient.open(
                port: node.port, path: "/sse?topic=lost", headers: [("Last-Event-ID", old)])
            try await client.waitForEvents(3)
            #expect(
                client.events == [
                    .init(id: nil, event: "resync", data: #"{"reason":"unknown-last-event-id"}"#),
                    .init(id: first, data: "first after the flush"), .init(id: second, data: "second after the flush"),
                ])
            let next = try await publisher.publish("lost", "after the flush")
            try await client.waitForEvents(4)
            #expect(client.events.last == .init(id: next, event: nil, data: "after the flush"))
            client.close()
        }
    }

    /// The node subscribes to a topic when its first stream arrives and unsubscribes when the last one leaves.
    @Test func nodeSubscribesOnlyWhileTopicHasStreams() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(redis: redis)
            let publisher = try await TestPublisher.connect(redis)
            defer { publisher.close() }
            try await publisher.waitForSubscribers(["solo"], count: 0)
            let first = try await SSETestClient.open(port: node.port, path: "/sse?topic=solo")
            let second = try await SSETestClient.open(port: node.port, path: "/sse?topic=solo&topic=duo")
            try await first.waitUntilConnected()
            try await second.waitUntilConnected()
            try await publisher.waitForSubscribers(["solo", "duo"], count: 1)
            second.close()
            try await publisher.waitForSubscribers(["duo"], count: 0)
            try await publisher.waitForSubscribers(["solo"], count: 1)
            first.close()
            try await publisher.waitForSubscribers(["solo"], count: 0)
            try await waitUntil("metrics show no topics") {
                try await node.metrics().redis.subscribedTopics == 0
            }
        }
    }

    /// Redis's clock (`TIME`) in milliseconds.
    static func redisMilliseconds(_ publisher: TestPublisher) async throws -> UInt64 {
        let reply = try await publisher.connection.send("TIME")
        let parts = try #require(reply.array?.compactMap { $0.string.flatMap { UInt64($0) } })
        try #require(parts.count == 2)
        return parts[0] * 1000 + parts[1] / 1000
    }
}
