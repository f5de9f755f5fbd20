import Foundation
import Gateway
import LocalRedis
import RedisClient
import SSEProtocol
import SSETestSupport
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension EndToEnd {
    /// The node registry on a Redis Cluster: every registry name carries the hash tag `{sse.nodes}`, so a beat is
    /// one pipeline to one shard, `/sse-nodes` reads every node from that shard, and the `node` events go out with
    /// `SPUBLISH` to the subscribers of the topic `sse.nodes` (sharded like any topic's channel).
    @Suite("The node registry on a Redis Cluster")
    struct NodeRegistryClusterTests {
        static func nodes(port: Int) async throws -> [NodeDocument]? {
            let answer = try await HTTPProbe.get(port: port, path: "/sse-nodes")
            guard answer.status == 200 else { return nil }
            return try JSONDecoder().decode(NodeList.self, from: Data(answer.body.utf8)).nodes
        }

        @Test func twoNodesRegisterPublishTheirBeatsAndAKilledOneDropsOutOnACluster() async throws {
            var options = LocalRedisCluster.Options()
            options.replicasPerPrimary = 0
            let redis = try await LocalRedisCluster.start(options)
            defer { redis.stop() }
            let first = try await GatewayProcess.start(redisURL: TestCluster.seedURL(of: redis))
            defer { first.kill() }
            let second = try await GatewayProcess.start(redisURL: TestCluster.seedURL(of: redis))
            defer { second.kill() }
            let ids = ["test-\(first.port)", "test-\(second.port)"].sorted()
            let follower = try await SSETestClient.open(port: first.port, path: "/sse?topic=sse.nodes")
            defer { follower.close() }
            try await follower.waitUntilConnected()
            let room = try await SSETestClient.open(port: second.port, path: "/sse?topic=room")
            defer { room.close() }
            try await room.waitUntilConnected()

            let seen = Mutex<[NodeDocument]>([])
            try await waitUntil("both nodes listed", timeout: .seconds(10), every: .milliseconds(50)) {
                let nodes = try await Self.nodes(port: first.port) ?? []
                seen.withLock { $0 = nodes }
                return nodes.map(\.nodeID) == ids && nodes.allSatisfy { $0.state == .ready }
            }
            let links = seen.withLock { $0 }.map(\.redisLinksTotal)
            // The control link and one link per shard the node subscribed on (at least the one of `sse.nodes`).
            #expect(links.allSatisfy { $0 >= 2 }, "\(links)")
            // Every beat of both nodes reaches a follower on one of them, with no gap.
            try await waitUntil("three beats of each node", timeout: .seconds(10)) {
                let documents = follower.events.compactMap { NodeDocument.decode(Array($0.data.utf8)) }
                return ids.allSatisfy { id in documents.filter { $0.nodeID == id }.count >= 3 }
            }
            let documents = follower.events.compactMap { NodeDocument.decode(Array($0.data.utf8)) }
            for id in ids {
                let beats = documents.filter { $0.nodeID == id }.map(\.beat)
                #expect(beats == Array(beats[0]..<(beats[0] + beats.count)), "\(id): \(beats)")
            }
            // Presence reads the registry shard too.
            let presence = try await HTTPProbe.get(port: first.port, path: "/sse-presence?topic=room")
            #expect(presence.status == 200)
            #expect(
                presence.body
                    == #"{"complete":true,"nodes":1,"streams":1,"subjects":[],"subjects_truncated":false,"topic":"room"}"#
                    + "\n")

            second.signal(SIGKILL)
            let killed = ContinuousClock.now
            try await waitUntil("the killed node gone", timeout: .seconds(5), every: .milliseconds(50)) {
                (try await Self.nodes(port: first.port) ?? []).map(\.nodeID) == ["test-\(first.port)"]
            }
            #expect(ContinuousClock.now - killed < .seconds(3.5))
        }
    }
}
