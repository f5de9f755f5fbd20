import Foundation
import Gateway
import LocalRedis
import Logging
import RedisClient
import SSEHistory
import SSEProtocol
import SSETestSupport
import Testing

extension EndToEnd {
    /// A replay read sent to a primary that froze (SIGSTOP) is not held until it wakes: the node's history reads have
    /// a deadline (5 s), the timeout refreshes the slot map, and the read is tried again on the replica that took
    /// over. Before, the resuming stream got nothing for as long as the old primary stayed frozen.
    @Suite("A replay on a Redis Cluster whose primary froze")
    struct ClusterReplayDeadlineTests {
        @Test func aResumeReadsTheHistoryFromTheReplicaThatTookOverWhileTheOldPrimaryIsStillFrozen() async throws {
            let redis = try await LocalRedisCluster.start()
            defer { redis.stop() }
            let node = try await GatewayProcess.start(redisURL: TestCluster.seedURL(of: redis))
            defer { node.kill() }
            let client = RedisClusterClient(
                seeds: redis.seeds, configuration: redis.configuration, logger: .init(label: "test.cluster"))
            defer { Task { await client.close() } }
            let map = try await client.start()
            let history = History(cluster: client)
            // A topic of a shard that is not the first seed's (the node's control link stays on a live server).
            let (topic, primary) = try #require(
                try RedisClusterEndToEndTests.topicsOnEveryShard(map).first { $0.port != redis.nodes[0].port })

            // A stream that stays open keeps the topic subscribed, so the resume below reads at once (it does not
            // wait for the frozen shard's link).
            let live = try await SSETestClient.open(port: node.port, path: "/sse?topic=\(topic.name)")
            defer { live.close() }
            try await live.waitUntilConnected()
            var ids: [String] = []
            for index in 0..<3 {
                let id = try await history.publish(topic, event: nil, data: "event \(index)", maxLength: 100)
                ids.append(id.description)
            }
            try await live.waitForEvents(3)
            #expect(live.events.map(\.id) == ids)
            // The replica has them before its primary freezes.
            #expect(try await redis.command(primary, ["WAIT", "1", "5000"]).int == 1)

            redis.pause(port: primary)
            defer { redis.resume(port: primary) }
            let frozenAt = ContinuousClock.now
            let resumed = try await SSETestClient.open(
                port: node.port, path: "/sse?topic=\(topic.name)", headers: [("Last-Event-ID", ids[0])])
            defer { resumed.close() }
            do {
                try await resumed.waitForEvents(2, timeout: .seconds(30))
            } catch {
                Issue.record("\(error); closed: \(resumed.isClosed); log: \(node.log.suffix(2000))")
                return
            }
            let took = ContinuousClock.now - frozenAt
            #expect(resumed.events.map(\.id) == Array(ids[1...]))
            #expect(resumed.events.map(\.data) == ["event 1", "event 2"])
            let metrics = try await node.metrics()
            #expect(metrics.replayRetries >= 1)
            #expect(node.log.contains("did not answer a history read within 5000 ms"))
            print("resume across a frozen primary: history after \(took)")
        }
    }
}
