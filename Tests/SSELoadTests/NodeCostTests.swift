import RedisClient
import SSEProtocol
import Testing

@testable import SSELoad

/// `sse-load topology` without I/O: the topics spread over the shards, who gets which stream and event, what the
/// streams must receive, and the report's medians and ratios.
@Suite struct NodeCostTests {
    /// The slot ranges `redis-cli --cluster create` gives three primaries.
    static let threeShards = ClusterSlotMap(
        shards: [(0...5460, 7000), (5461...10922, 7001), (10923...16383, 7002)].map { range, port in
            ClusterShard(
                slotRanges: [range],
                primary: ClusterNode(id: "n\(port)", endpoint: .tcp(host: "127.0.0.1", port: port), role: .primary))
        })

    @Test func eachShardGetsItsShareOfTopicsAllInItsOwnSlots() {
        let spread = NodeCostPlan.spread(perShard: 4, over: Self.threeShards)
        #expect(spread.map(\.count) == [4, 4, 4])
        for (index, topics) in spread.enumerated() {
            for topic in topics {
                #expect(Self.threeShards.shards[index].slotRanges[0].contains(HashSlot(key: topic.historyKey).value))
                #expect(HashSlot(key: topic.channel) == HashSlot(key: topic.historyKey))
            }
        }
        #expect(Set(spread.flatMap { $0 }).count == 12)
    }

    @Test func onOneRedisEveryTopicIsOnShardZeroAndOnTheClusterOnItsOwn() {
        let spread = NodeCostPlan.spread(perShard: 2, over: Self.threeShards)
        let one = NodeCostPlan(shards: spread, clustered: false, streams: 10, events: 7)
        let three = NodeCostPlan(shards: spread, clustered: true, streams: 10, events: 7)
        #expect(one.topics == three.topics)
        #expect(one.shardOfTopic == [0, 0, 0, 0, 0, 0])
        #expect(three.shardOfTopic == [0, 0, 1, 1, 2, 2])
    }

    @Test func theExpectedDeliveriesAreEachEventOnEveryStreamOfItsTopic() {
        let spread = NodeCostPlan.spread(perShard: 1, over: Self.threeShards)
        // 10 streams on 3 topics: 4, 3, 3; 7 events: 3, 2, 2.
        let plan = NodeCostPlan(shards: spread, clustered: true, streams: 10, events: 7)
        #expect((0..<3).map { plan.streams(on: $0) } == [4, 3, 3])
        #expect((0..<3).map { plan.events(on: $0) } == [3, 2, 2])
        #expect(plan.expectedDeliveries == 3 * 4 + 2 * 3 + 2 * 3)
        #expect((0..<10).map(plan.topicIndex(ofStream:)) == [0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    }

    static func result(_ topology: String, gateway: Double, redis: Double, delivered: UInt64 = 1_000_000)
        -> NodeCostResult
    {
        NodeCostResult(
            topology: topology, delivered: delivered, expected: 1_000_000, gaps: 0, duplicates: 0, dropped: 0,
            gatewayCPUSeconds: gateway, redisCPUSeconds: redis, publishRate: 500, latencyP50Microseconds: 800,
            latencyP99Microseconds: 3000)
    }

    @Test func cpuPerDeliveryIsTheCPUTimeOverTheDeliveries() {
        let result = Self.result("one", gateway: 2.5, redis: 0.5)
        #expect(result.gatewayMicrosecondsPerDelivery == 2.5)
        #expect(result.redisMicrosecondsPerDelivery == 0.5)
        #expect(result.isExact)
        #expect(!Self.result("one", gateway: 1, redis: 1, delivered: 999_999).isExact)
        #expect(Self.result("one", gateway: 1, redis: 1, delivered: 0).gatewayMicrosecondsPerDelivery == nil)
    }

    @Test func theReportGivesMediansAndTheRatioOfThreeShardsToOneRedis() {
        var report = NodeCostReport(description: "test")
        report.single = [2.0, 1.0, 9.0].map { Self.result("one", gateway: $0, redis: 0.4) }
        report.cluster = [3.0, 2.6, 2.0].map { Self.result("three", gateway: $0, redis: 0.6) }
        #expect(
            report.json.contains("\"ratios\":{\"gateway_cpu_per_delivery\":1.3000,\"redis_cpu_per_delivery\":1.5000}"))
        #expect(report.json.contains("\"gateway_cpu_us_per_delivery\":2.000"))
        let ratioLine = report.table.split(separator: "\n").first { $0.hasPrefix("gateway CPU µs / delivery") }
        #expect(ratioLine?.split(separator: " ").suffix(3) == ["2.000", "2.600", "1.300"])
        #expect(report.table.contains("deliveries exact"))
        #expect(NodeCostReport.median([]) == nil)
        #expect(NodeCostReport.median([4, 1, 3, 2]) == 2.5)
    }
}
