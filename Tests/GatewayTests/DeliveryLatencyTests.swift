import Foundation
import Gateway
import LocalRedis
import RedisClient
import SSETestSupport
import Testing

/// The delivery latency (issue 16, point 2): live reliable events measured once per event per loop from their id's
/// time to their write, in `/sse-metrics` (`delivery_latency`) and `/metrics` (`sse_delivery_latency_seconds`).
@Suite("Delivery latency (real redis-server and sse-gateway)")
struct DeliveryLatencyTests {
    /// Every live event counts once for its loop, however many streams of the loop take it; the events a
    /// reconnecting stream replays from history do not count.
    @Test func liveEventsCountOncePerLoopAndReplayedEventsDoNot() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(redis: redis, arguments: ["--threads", "1"])
            let publisher = try await TestPublisher.connect(redis)
            defer { publisher.close() }
            let first = try await SSETestClient.open(port: node.port, path: "/sse?topic=lat")
            try await first.waitUntilConnected()
            var ids: [String] = []
            for index in 0..<5 { ids.append(try await publisher.publish("lat", "event \(index)")) }
            try await first.waitForEvents(5)
            try await waitUntil("5 events measured") { try await node.metrics().deliveryLatency.count == 5 }

            // A reconnect after the first event: four events replayed from history, none measured.
            let second = try await SSETestClient.open(
                port: node.port, path: "/sse?topic=lat", headers: [("Last-Event-ID", ids[0])])
            try await second.waitForEvents(4)
            #expect(second.events.map(\.id) == Array(ids[1...]))
            var metrics = try await node.metrics()
            #expect(metrics.replayedEvents == 4)
            #expect(metrics.deliveryLatency.count == 5)

            // One more live event for both streams of the one loop: measured once.
            let last = try await publisher.publish("lat", "for both")
            try await first.waitForEvents(6)
            try await second.waitForEvents(5)
            #expect(first.events.last?.id == last && second.events.last?.id == last)
            try await waitUntil("6 events measured") { try await node.metrics().deliveryLatency.count == 6 }
            metrics = try await node.metrics()
            #expect(metrics.deliveryLatency.count == 6)
            #expect(metrics.deliveryLatency.windowSeconds == 60)
            #expect(metrics.deliveryLatency.p50Milliseconds != nil)
            let histogram = try await PrometheusHistogram.fetch(port: node.port, node: "test-\(node.port)")
            #expect(histogram.count == 6)
            #expect(histogram.buckets["+Inf"] == 6)
            #expect(histogram.buckets.count == 15)
            first.close()
            second.close()
        }
    }

    /// Events the node reads back from history after its subscription was dropped (its backfill) are delivered but
    /// not measured; the live event after them is.
    @Test func eventsBackfilledAfterAReconnectAreNotMeasured() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(redis: redis, arguments: ["--threads", "1"])
            let publisher = try await TestPublisher.connect(redis)
            defer { publisher.close() }
            let client = try await SSETestClient.open(port: node.port, path: "/sse?topic=gap")
            try await client.waitUntilConnected()
            var ids = [try await publisher.publish("gap", "live 0")]
            try await client.waitForEvents(1)
            try await waitUntil("1 event measured") { try await node.metrics().deliveryLatency.count == 1 }

            // Frozen, the node cannot resubscribe before the three events are published without a subscriber.
            node.signal(SIGSTOP)
            try await publisher.connection.send("CLIENT", "KILL", "TYPE", "pubsub")
            try await publisher.waitForSubscribers(["gap"], count: 0)
            for index in 0..<3 { ids.append(try await publisher.publish("gap", "missed \(index)")) }
            node.signal(SIGCONT)
            try await client.waitForEvents(4)
            ids.append(try await publisher.publish("gap", "live 1"))
            try await client.waitForEvents(5)
            #expect(client.events.map(\.id) == ids)
            try await waitUntil("2 events measured") { try await node.metrics().deliveryLatency.count == 2 }
            let metrics = try await node.metrics()
            #expect(metrics.redis.backfilledEvents == 3)
            #expect(metrics.deliveryLatency.count == 2)
            #expect(try await PrometheusHistogram.fetch(port: node.port, node: "test-\(node.port)").count == 2)
            client.close()
        }
    }

    /// Events whose ids say they were published 30 s and 7 s ago, and one 5 s in the future (the node's clock
    /// behind Redis's), land in the `+Inf`, `10` and first bucket: the future one clamped to 0. The ages are chosen
    /// far from bucket bounds, so a delivery delayed by up to 3 s on a loaded machine lands in the same buckets.
    @Test func handCraftedIdsLandInTheirBucketsAndFutureOnesCountAsZero() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(redis: redis, arguments: ["--threads", "1"])
            let publisher = try await TestPublisher.connect(redis)
            defer { publisher.close() }
            let client = try await SSETestClient.open(port: node.port, path: "/sse?topic=skew")
            try await client.waitUntilConnected()
            let now = UInt64(Date().timeIntervalSince1970 * 1000)
            let ids = ["\(now - 30_000)-0", "\(now - 7000)-0", "\(now + 5000)-0"]
            for (index, id) in ids.enumerated() {
                // The reliable envelope as `sse_publish` writes it (RedisEnvelope), published by hand.
                try await publisher.connection.send("PUBLISH", "sse:{skew}", "\u{1E}sse1 \(id) \nold \(index)")
            }
            try await client.waitForEvents(3)
            #expect(client.events.map(\.id) == ids)
            try await waitUntil("3 events measured") { try await node.metrics().deliveryLatency.count == 3 }

            let histogram = try await PrometheusHistogram.fetch(port: node.port, node: "test-\(node.port)")
            let expected: [String: Int] = [
                "0.0005": 1, "0.001": 1, "0.0025": 1, "0.005": 1, "0.01": 1, "0.025": 1, "0.05": 1, "0.1": 1,
                "0.25": 1, "0.5": 1, "1": 1, "2.5": 1, "5": 1, "10": 2, "+Inf": 3,
            ]
            #expect(histogram.buckets == expected)
            #expect(histogram.count == 3)
            #expect(histogram.sum > 37 && histogram.sum < 43)
            let latency = try await node.metrics().deliveryLatency
            // p50: rank 1.5 falls halfway into the (5 s, 10 s] bucket; p99 in +Inf reads as its lower bound.
            #expect(latency.p50Milliseconds == 7500)
            #expect(latency.p99Milliseconds == 10_000)
            #expect(latency.count == 3)
            client.close()
        }
    }
}

/// `sse_delivery_latency_seconds` of one node's `/metrics`: cumulative buckets by `le`, `_sum` and `_count`.
struct PrometheusHistogram {
    var buckets: [String: Int] = [:]
    var sum = 0.0
    var count = 0

    static func fetch(port: Int, node: String, headers: [(String, String)] = []) async throws -> PrometheusHistogram {
        let response = try await HTTPProbe.get(port: port, path: "/metrics", headers: headers)
        #expect(response.status == 200)
        var histogram = PrometheusHistogram()
        let prefix = "sse_delivery_latency_seconds"
        for line in response.body.split(separator: "\n") where line.hasPrefix(prefix) {
            let parts = line.split(separator: " ")
            guard parts.count == 2 else { continue }
            let (series, value) = (String(parts[0]), String(parts[1]))
            if series.hasPrefix("\(prefix)_bucket{node=\"\(node)\",le=\"") {
                let le = series.dropFirst("\(prefix)_bucket{node=\"\(node)\",le=\"".count).dropLast(2)
                histogram.buckets[String(le)] = Int(value)
            } else if series == "\(prefix)_sum{node=\"\(node)\"}" {
                histogram.sum = Double(value) ?? -1
            } else if series == "\(prefix)_count{node=\"\(node)\"}" {
                histogram.count = Int(value) ?? -1
            }
        }
        return histogram
    }
}
