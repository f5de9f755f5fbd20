import LocalRedis
import NIOCore
import NIOPosix
import RedisClient
import SSEProtocol
import SSETestSupport
import Synchronization
import Testing

@testable import Publisher

/// The publisher on a `redis-cluster://` URL: `POST /publish` runs `sse_publish_sharded` on each topic's shard and
/// the board keeps its model and publishes on the `{board}` slot's primary.
///
/// One test on one three-primary cluster (no replicas): starting a cluster takes seconds.
@Suite("The publisher on a Redis Cluster", .serialized)
struct ClusterPublishTests {
    static func port(_ endpoint: RedisConfiguration.Endpoint) -> Int {
        if case .tcp(_, let port) = endpoint { return port }
        return 0
    }

    @Test func publishesOnTwoShardsAnswerIdsReachShardSubscribersRepeatsAnswerTheFirstIDAndTheBoardFollowsItsSlot()
        async throws
    {
        let redis = try await LocalRedisCluster.start(.init(primaries: 3, replicasPerPrimary: 0))
        defer { redis.stop() }
        let url = "redis-cluster://" + redis.nodes.map { "127.0.0.1:\($0.port)" }.joined(separator: ",")
        let cluster = RedisClusterClient(seeds: redis.seeds, configuration: redis.configuration)
        let map = try await cluster.start()
        // Two topics on two different primaries.
        var found: [(name: String, primary: RedisConfiguration.Endpoint)] = []
        var index = 0
        while found.count < 2 {
            let name = "orders-\(index)"
            let owner = try #require(map.primary(for: HashSlot(key: "sse:{\(name)}:history")))
            if !found.contains(where: { $0.primary == owner }) { found.append((name, owner)) }
            index += 1
        }
        let topics = found
        let received = Mutex<[String]>([])
        let subscriber = RedisClusterSubscriber(
            cluster: cluster, eventLoop: MultiThreadedEventLoopGroup.singleton.next()
        ) { event in
            if case .message(let channel, let payload) = event {
                received.withLock { $0.append("\(channel)=\(String(buffer: payload))") }
            }
        }
        try await subscriber.subscribe(topics.map { "sse:{\($0.name)}" })

        try await InProcessPublisher.with(InProcessPublisher.configuration(redisURL: url), installLibraries: true) {
            publisher in
            #expect(try await publisher.get("/readyz").body == "ready\n")
            var ids: [String] = []
            for topic in topics {
                let reply = try await publisher.send(
                    "POST", "/publish", headers: PublishAPITests.authorized,
                    body: #"{"topic":"\#(topic.name)","data":"hello \#(topic.name)"}"#)
                #expect(reply.status == 202)
                let id = try #require(reply.body.split(separator: "\"").dropFirst(3).first.map(String.init))
                #expect(reply.body == "{\"id\":\"\(id)\",\"topic\":\"\(topic.name)\"}\n")
                ids.append(id)
                // The topic's own clock on its own shard issued it.
                let last = try await redis.command(
                    Self.port(topic.primary), ["HGET", "sse:{\(topic.name)}:clock", "last"])
                #expect(last.string == id)
            }
            try await waitUntil("both envelopes on the shard subscriber") { received.withLock { $0.count } >= 2 }
            #expect(
                Set(received.withLock { $0 })
                    == Set(zip(topics, ids).map { "sse:{\($0.name)}=\u{1E}sse1 \($1) \nhello \($0.name)" }))

            let keyed = PublishAPITests.authorized + [("Idempotency-Key", "charge-9")]
            let body = #"{"topic":"\#(topics[1].name)","data":"charged"}"#
            let first = try await publisher.send("POST", "/publish", headers: keyed, body: body)
            let repeated = try await publisher.send("POST", "/publish", headers: keyed, body: body)
            #expect(first.status == 202)
            #expect(first.header("Idempotent-Replay") == nil)
            #expect(repeated.status == 202)
            #expect(repeated.header("Idempotent-Replay") == "true")
            #expect(repeated.body == first.body)
            let stream = try await redis.command(
                Self.port(topics[1].primary), ["XLEN", "sse:{\(topics[1].name)}:history"])
            #expect(stream == .integer(2))

            // The board: model and render on the {board} slot's primary, published with the board's own clock.
            let board = try #require(map.primary(for: HashSlot(key: "board:{board}:posts")))
            #expect(try await publisher.postForm("/add_post", [("text", "on a cluster")]).status == 303)
            #expect(try await redis.command(Self.port(board), ["GET", "board:{board}:published"]).string == "1")
            let history = try await redis.command(Self.port(board), ["XLEN", "sse:{board}:history"])
            #expect(history == .integer(3))
            let model = try await publisher.get("/model")
            #expect(model.status == 200)
            #expect(model.body.contains("on a cluster"))

            // The {board} slot moves to another primary: the next post follows it (MOVED on the transaction
            // connection, a fresh map, the turn again on the new owner), and the model moved with its keys.
            let target = try #require(map.primaries.first { $0 != board })
            try await redis.migrate(HashSlot(key: "board:{board}:posts"), to: Self.port(target))
            #expect(try await publisher.postForm("/add_post", [("text", "after the move")]).status == 303)
            #expect(try await redis.command(Self.port(target), ["GET", "board:{board}:published"]).string == "2")
            #expect(try await redis.command(Self.port(target), ["XLEN", "sse:{board}:history"]) == .integer(6))
            #expect(try await publisher.get("/model").body.contains("after the move"))
        }
        await subscriber.close()
        await cluster.close()
    }
}
