import Foundation
import Gateway
import LocalRedis
import RedisClient
import SSETestSupport
import Testing

/// A node whose event loop falls behind the Redis subscription: it keeps reading Redis, stops handing the loop
/// live events past `--max-loop-backlog`, and once the loop has caught up its streams read what was skipped from
/// history. A limit of one byte makes any event handed over while another is still waiting for the loop a skipped
/// one, so a pipelined burst exercises the whole path.
@Suite(
    "Gateway overload: a loop that falls behind sheds, then its streams catch up (real redis-server and sse-gateway)")
struct GatewayOverloadTests {
    @Test func streamsOfAShedLoopCatchUpFromHistoryWithNoGapOrDuplicate() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(
                redis: redis, arguments: ["--max-loop-backlog", "1", "--threads", "1", "--history-length", "5000"])
            let publisher = try await TestPublisher.connect(redis)
            defer { publisher.close() }
            let clients = try await (0..<3).asyncMap { _ in
                try await SSETestClient.open(port: node.port, path: "/sse?topic=flood")
            }
            for client in clients { try await client.waitUntilConnected() }
            var ids: [String] = []
            for round in 0..<4 {
                ids += try await publisher.publishBatch((0..<500).map { (topic: "flood", data: "r\(round)e\($0)") })
            }
            for client in clients { try await client.waitForEvents(2_000, timeout: .seconds(30)) }
            let expected = (0..<4).flatMap { round in (0..<500).map { "r\(round)e\($0)" } }
            for client in clients {
                #expect(client.events.map(\.id) == ids)
                #expect(client.events.map(\.data) == expected)
                #expect(!client.isClosed)
            }
            let metrics = try await node.metrics()
            let shed = metrics.shedDeliveries
            let caughtUp = metrics.caughtUpStreams
            #expect(shed > 0, "the burst never outran the loop: nothing was shed")
            #expect(caughtUp >= 3, "each stream catches up at least once")
            #expect(metrics.replayedEvents >= shed, "skipped deliveries come back from history")
            #expect(metrics.totalEventsSent == 6_000)
            #expect(metrics.resyncs == 0)
            #expect(node.reapIfExited() == nil)
            for client in clients { client.close() }
        }
    }

    @Test func aStreamWhoseSkippedEventsAreNoLongerInHistoryGetsResyncAndGoesOn() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(
                redis: redis, arguments: ["--max-loop-backlog", "1", "--threads", "1"])
            let publisher = try await TestPublisher.connect(redis)
            defer { publisher.close() }
            let client = try await SSETestClient.open(port: node.port, path: "/sse?topic=flood")
            try await client.waitUntilConnected()
            // History keeps 20 events: the skipped ones are trimmed away before the loop catches up.
            let ids = try await publisher.publishBatch(
                (0..<2_000).map { (topic: "flood", data: "e\($0)") }, maxLength: 20)
            // Events published once the loop has caught up arrive live. (An event published while the loop still
            // sheds is covered by the resync, which tells the client to reload its state.)
            var published: [String] = []
            for attempt in 0..<50 where !client.events.contains(where: { $0.data.hasPrefix("after the flood") }) {
                published.append(try await publisher.publish("flood", "after the flood \(attempt)"))
                try? await waitUntil("a live event", timeout: .milliseconds(200)) {
                    client.events.contains { $0.data.hasPrefix("after the flood") }
                }
            }
            #expect(client.events.contains { $0.data.hasPrefix("after the flood") })
            let events = client.events
            let notices = events.filter { $0.event == "resync" }
            #expect(!notices.isEmpty)
            #expect(notices.allSatisfy { $0.data == #"{"reason":"history-trimmed","topics":["flood"]}"# })
            // What did arrive is in order, without duplicates, and every event is one that was published.
            let received = events.compactMap(\.id)
            let position = Dictionary(uniqueKeysWithValues: (ids + published).enumerated().map { ($1, $0) })
            let order = received.map { position[$0] ?? -1 }
            #expect(!order.contains(-1))
            #expect(order == order.sorted() && Set(order).count == order.count)
            #expect(!client.isClosed)
            #expect(node.reapIfExited() == nil)
            client.close()
        }
    }
}
