import Foundation
import LocalRedis
import NIOCore
import NIOPosix
import RedisClient
import SSETestSupport
import Synchronization
import Testing

/// `ssectl` on a `redis-cluster://` URL against a real three-primary Redis Cluster: publishes land on each topic's
/// shard with the topic's own clock, `end` reaches a control subscriber on any node, and an unreachable cluster is
/// one clear line naming what was tried.
@Suite("ssectl on a Redis Cluster (real redis-server cluster)", .serialized)
struct SSECtlClusterTests {
    static func port(_ endpoint: RedisConfiguration.Endpoint) -> Int {
        if case .tcp(_, let port) = endpoint { return port }
        return 0
    }

    @Test func publishRevokeAndEndWorkOnACluster() async throws {
        let redis = try await LocalRedisCluster.start(.init(primaries: 3, replicasPerPrimary: 0))
        defer { redis.stop() }
        let url = "redis-cluster://" + redis.nodes.map { "127.0.0.1:\($0.port)" }.joined(separator: ",")
        let cluster = RedisClusterClient(seeds: redis.seeds, configuration: redis.configuration)
        let map = try await cluster.start()
        await cluster.close()

        var published: [(topic: String, id: String, primary: RedisConfiguration.Endpoint)] = []
        var index = 0
        while published.count < 2 {
            let topic = "feed-\(index)"
            index += 1
            let owner = try #require(map.primary(for: HashSlot(key: "sse:{\(topic)}:history")))
            guard !published.contains(where: { $0.primary == owner }) else { continue }
            let run = try await SSECtlTests.run([
                "publish", "--redis-url", url, "--event", "note", topic, "hi \(topic)",
            ])
            #expect(run.status == 0, "\(run.error)")
            published.append((topic, run.output.trimmingCharacters(in: .whitespacesAndNewlines), owner))
        }
        for entry in published {
            let clock = try await redis.command(
                Self.port(entry.primary), ["HGET", "sse:{\(entry.topic)}:clock", "last"])
            #expect(clock.string == entry.id)
            let stream = try await redis.command(
                Self.port(entry.primary), ["XRANGE", "sse:{\(entry.topic)}:history", "-", "+"])
            #expect(stream.array?.count == 1)
            #expect(stream.array?.first?.array?.first?.string == entry.id)
        }
        let keyed = ["publish", "--redis-url", url, "--idempotency-key", "job-4", published[1].topic, "once"]
        let first = try await SSECtlTests.run(keyed)
        let again = try await SSECtlTests.run(keyed)
        #expect(first.status == 0, "\(first.error)")
        #expect(again.output == first.output)

        // A classic control subscriber on the last node hears `end` whichever node ssectl reached.
        let heard = Mutex<[String]>([])
        let control = RedisSubscriber(
            configuration: redis.nodes[redis.nodes.count - 1].configuration,
            eventLoop: MultiThreadedEventLoopGroup.singleton.next()
        ) { event in
            if case .message(_, let payload) = event { heard.withLock { $0.append(String(buffer: payload)) } }
        }
        control.start()
        try await control.subscribe(["sse:control"])
        let end = try await SSECtlTests.run(["end", "--redis-url", url, "--reason", "done", published[0].topic])
        #expect(end.status == 0, "\(end.error)")
        let revoke = try await SSECtlTests.run(["revoke", "--redis-url", url, "--subject", "eve"])
        #expect(revoke.status == 0, "\(revoke.error)")
        try await waitUntil("end and revoke on the control channel") { heard.withLock { $0.count } >= 2 }
        let messages = heard.withLock { $0 }
        #expect(messages.count == 2)
        #expect(messages.first?.contains("\"end\"") == true)
        #expect(messages.first?.contains(published[0].topic) == true)
        #expect(messages.last?.contains("\"subject\":\"eve\"") == true)
        await control.close()

        let unreachable = try await SSECtlTests.run(["publish", "--redis-url", "redis-cluster://127.0.0.1:1", "t", "d"])
        #expect(unreachable.status != 0)
        #expect(unreachable.error.contains("127.0.0.1:1"), "\(unreachable.error)")
    }
}
