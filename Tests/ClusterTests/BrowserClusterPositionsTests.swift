import Foundation
import LocalRedis
import RedisClient
import SSEProtocol
import SSETestSupport
import Testing

extension EndToEnd {
    /// Streams of two topics on two shards of a real Redis Cluster, in headless Chromium: the project's own
    /// compatibility pages (a plain EventSource, a credentialed EventSource with named events, a fetch body reader
    /// with Datastar's rules) send back the stream positions the gateway writes as ids and resume exactly through
    /// a kill -9 of each node. The steps and checks are in Tests/browser/cluster_positions.py.
    @Suite("Stream positions in a real browser on a Redis Cluster")
    struct BrowserClusterPositionsTests {
        @Test func everyPageResumesBothOfItsTopicsFromItsPositionThroughAKilledNode() async throws {
            var options = LocalRedisCluster.Options()
            options.replicasPerPrimary = 0
            let redis = try await LocalRedisCluster.start(options)
            let root = NginxProcess.repositoryRoot
            let cluster = try await TestCluster.start(
                redisCluster: redis, nodeCount: 2, gatewayArguments: ["--retry-ms", "300"],
                staticFolders: ["/compat/": root + "/Tests/browser/compat/"])
            defer { cluster.stop() }
            let map = try await redis.slotMap()
            var arguments = [
                root + "/Tests/browser/cluster_positions.py", "--port", "\(cluster.port)", "--redis-url",
                TestCluster.seedURL(of: redis), "--ssectl",
                URL(fileURLWithPath: GatewayProcess.executable).deletingLastPathComponent()
                    .appendingPathComponent("ssectl").path,
            ]
            for page in ["eventsource", "named", "fetch"] {
                let topics = try Self.twoShards(page, map)
                arguments += ["--page", "\(page)=\(topics.0),\(topics.1)"]
            }
            for number in 1...cluster.nodes.count {
                let pid = try #require(cluster.processID(ofNode: number), "node \(number) runs")
                arguments += ["--node", "\(number)=\(pid)"]
            }
            let result = try await runProgram("/usr/bin/python3", arguments, timeout: .seconds(150))
            #expect(result.status == 0, "cluster_positions.py:\n\(result.output)")
            #expect(result.output.hasSuffix("PASSED\n"), "\(result.output)")
        }

        /// Two topic names for `page` whose slots two different primaries serve.
        static func twoShards(_ page: String, _ map: ClusterSlotMap) throws -> (String, String) {
            let first = "pos-\(page)-a"
            let owner = map.primary(for: HashSlot(key: try Topic(validating: first).historyKey))
            for index in 0..<1000 {
                let second = "pos-\(page)-b\(index)"
                if map.primary(for: HashSlot(key: try Topic(validating: second).historyKey)) != owner {
                    return (first, second)
                }
            }
            throw ClusterTestError(message: "no topic on another shard than \(first)")
        }
    }
}
