import LocalRedis
import RedisClient
import SSEHistory
import SSEProtocol
import Testing

/// The one reader of the node registry (``RegisteredNodes``), for `ssectl top` and the dashboard, against a registry
/// written by hand in a real redis-server: who is live, who is down, who is left out, and which beats come along.
@Suite("Reading the node registry (real redis-server)")
struct RegisteredNodesTests {
    static let now: Int64 = 1_800_000_000_000

    static func document(_ id: String, beat: Int) -> NodeDocument {
        NodeDocument(
            nodeID: id, startedMilliseconds: now - 600_000, atMilliseconds: now - Int64(10 - beat) * 1000, beat: beat,
            ttlMilliseconds: 3000, state: .ready, streams: beat, eventsPerSecond: 0, connectionsTotal: beat,
            slowConsumerCuts: 0, shedDeliveries: 0, shedConnections: 0, resyncs: 0, redisLinksUp: 1,
            redisLinksTotal: 1)
    }

    /// `id` as a node writes it: its member scored by its key's expiry, its beats newest first, and its key when
    /// `live`.
    static func register(
        _ id: String, expires: Int64, beats: [Int], live: Bool, on redis: any RedisCommandRunner
    ) async throws {
        _ = try await redis.send(RedisCommand("ZADD", arguments: [NodeRegistryKeys.members, String(expires), id]))
        for beat in beats {
            _ = try await redis.send(
                RedisCommand(
                    "LPUSH", arguments: [NodeRegistryKeys.beats(id), document(id, beat: beat).summary.encoded()]))
        }
        if live, let last = beats.last {
            _ = try await redis.send(
                RedisCommand("SET", arguments: [NodeRegistryKeys.node(id), document(id, beat: last).encoded()]))
        }
    }

    @Test func liveAndDownNodesWithTheBeatsAskedForAndNothingOlderThanAMinuteOrUnreadable() async throws {
        try await withLocalRedis { server in
            let redis = try await RedisConnection.connect(configuration: server.configuration)
            defer { redis.closeNow() }
            try await Self.register("b-live", expires: Self.now + 3000, beats: [1, 2, 3], live: true, on: redis)
            try await Self.register("a-down", expires: Self.now - 5000, beats: [4, 5], live: false, on: redis)
            try await Self.register("c-gone", expires: Self.now - 20_000, beats: [], live: false, on: redis)
            // Expired more than a minute ago: not listed even though its beats are still there.
            try await Self.register("d-old", expires: Self.now - 60_001, beats: [6], live: false, on: redis)
            // A key of another format version: neither live nor down.
            _ = try await redis.send(
                RedisCommand("ZADD", arguments: [NodeRegistryKeys.members, String(Self.now + 3000), "e-future"]))
            _ = try await redis.send(
                RedisCommand("SET", arguments: [NodeRegistryKeys.node("e-future"), #"{"v":99,"node_id":"e-future"}"#]))

            let all = try await RegisteredNodes.read(redis, now: Self.now, beats: .all)
            #expect(all.nodes.map(\.id) == ["a-down", "b-live", "c-gone"])
            #expect(all.nodes.map(\.expiresMilliseconds) == [Self.now - 5000, Self.now + 3000, Self.now - 20_000])
            #expect(all.nodes.map(\.isDown) == [true, false, true])
            #expect(all.nodes[1].document == Self.document("b-live", beat: 3))
            // Oldest first, as summaries.
            #expect(all.nodes.map { $0.beats.map(\.beat) } == [[4, 5], [1, 2, 3], []])
            #expect(all.nodes[1].beats.first == Self.document("b-live", beat: 1).summary)

            let table = try await RegisteredNodes.read(redis, now: Self.now, beats: .lastOfDown)
            #expect(table.nodes.map(\.id) == ["a-down", "b-live", "c-gone"])
            #expect(table.nodes.map { $0.beats.map(\.beat) } == [[5], [], []])
            #expect(table.nodes[1].document == all.nodes[1].document)

            _ = try await redis.send("FLUSHALL")
            #expect(try await RegisteredNodes.read(redis, now: Self.now, beats: .all) == RegisteredNodes(nodes: []))
        }
    }
}
