import Foundation
import Gateway
import LocalRedis
import RedisClient
import SSEProtocol
import SSETestSupport
import Synchronization
import Testing

extension EndToEnd {
    /// A gateway node on a real Redis Cluster (`cluster-require-full-coverage no`) whose one primary is frozen
    /// (SIGSTOP; no replica takes over): the
    /// probe of that shard's link fails, so the node is not ready and says which link, yet it still takes streams —
    /// a shard's failover takes every node's link to it down at once, and `EventSource` gives up for good on a 503.
    @Suite("A node on a Redis Cluster with a frozen shard: not ready, still taking streams")
    struct ClusterReadinessTests {
        @Test func aFrozenShardMakesTheNodeNotReadyNamingItsLinkWhileStreamsOfOtherShardsOpenAndItsOwnWait()
            async throws
        {
            var options = LocalRedisCluster.Options()
            options.replicasPerPrimary = 0
            // The other shards go on serving while one is down (by default a Cluster with a slot unserved answers
            // CLUSTERDOWN for every slot).
            options.extraArguments = ["--cluster-require-full-coverage", "no"]
            let redis = try await LocalRedisCluster.start(options)
            defer { redis.stop() }
            let node = try await GatewayProcess.start(
                redisURL: TestCluster.seedURL(of: redis), arguments: ["--redis-probe-interval-ms", "200"])
            defer { node.kill() }
            let map = try await redis.slotMap()
            let topics = try RedisClusterEndToEndTests.topicsOnEveryShard(map)
            // Not the first seed's shard: the control channel's link (any node, seeds in order) stays healthy.
            let others = topics.filter { $0.port != redis.nodes[0].port }
            let (frozen, healthy) = (others[0], others[1])
            // Both shards get a link (a stream each), then the first freezes.
            let first = try await SSETestClient.open(port: node.port, path: "/sse?topic=\(frozen.topic.name)")
            defer { first.close() }
            try await first.waitUntilConnected()
            redis.pause(port: frozen.port)
            defer { redis.resume(port: frozen.port) }

            let seen = Mutex("")
            do {
                try await waitUntil("the node not ready because of the frozen link", timeout: .seconds(15)) {
                    let answer = try await HTTPProbe.get(port: node.port, path: "/readyz")
                    seen.withLock { $0 = "\(answer.status) \(answer.body)" }
                    return answer.status == 503 && answer.body.contains("Redis link 127.0.0.1:\(frozen.port)")
                }
            } catch {
                let links = (try? await node.metrics().redis.links) ?? []
                Issue.record("\(error); /readyz: \(seen.withLock { $0 }); links: \(links)")
                return
            }
            // A stream of a topic on a healthy shard: answered and subscribed at once.
            let other = try await SSETestClient.open(port: node.port, path: "/sse?topic=\(healthy.topic.name)")
            defer { other.close() }
            try await waitUntil("the healthy shard's stream answered", timeout: .seconds(5)) { other.status != nil }
            #expect(other.status == 200)
            do {
                try await other.waitUntilConnected()
            } catch {
                let metrics = try? await node.metrics()
                Issue.record("\(error); links: \(metrics?.redis.links ?? []); log: \(node.log.suffix(3000))")
                return
            }
            // A stream of a topic of the frozen shard the node has not subscribed yet: answered, and its opening
            // comment waits for the shard. (A topic subscribed before the freeze stays subscribed: what is published
            // while its link is down is read from history when it comes back.)
            var index = 0
            while map.primary(for: HashSlot(key: try Topic(validating: "frozen-\(index)").historyKey))
                != .tcp(host: "127.0.0.1", port: frozen.port)
            {
                index += 1
            }
            let waiting = try await SSETestClient.open(
                port: node.port, path: "/sse?topic=frozen-\(index)&topic=\(healthy.topic.name)")
            defer { waiting.close() }
            try await waitUntil("the frozen shard's stream answered", timeout: .seconds(5)) { waiting.status != nil }
            #expect(waiting.status == 200)
            try await Task.sleep(for: .seconds(1))
            #expect(!waiting.comments.contains { $0.hasPrefix("connected to ") })

            redis.resume(port: frozen.port)
            try await waiting.waitUntilConnected(timeout: .seconds(20))
            try await waitUntil("the node ready again", timeout: .seconds(20)) {
                try await HTTPProbe.get(port: node.port, path: "/readyz").status == 200
            }
        }
    }
}
