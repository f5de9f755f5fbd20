import LocalRedis
import NIOCore
import RedisClient
import Testing

@Suite("Redis Cluster commands: routing, MOVED, ASK, functions", .serialized)
struct ClusterClientTests {
    static let library = RedisFunctionLibrary(
        name: "clustertest",
        source: """
            #!lua name=clustertest
            redis.register_function('spub', function(keys, args)
              return redis.call('SPUBLISH', keys[1], args[1])
            end)
            redis.register_function('spub_to', function(keys, args)
              return redis.call('SPUBLISH', args[1], args[2])
            end)
            """)

    @Test func commandsReachKeysOnEveryShardAndFunctionsLoadOnEveryPrimary() async throws {
        try await withCluster { cluster, client in
            let map = try await client.slotMap()
            let keys = channelsOnEveryShard(map, prefix: "k")
            for key in keys {
                #expect(try await client.send(RedisCommand("SET", key, "value of \(key)"), key: key) == .status("OK"))
            }
            for (key, shard) in zip(keys, map.shards) {
                #expect(try await client.send(RedisCommand("GET", key), key: key).string == "value of \(key)")
                // The key lives on its shard's primary and nowhere else.
                #expect(try await cluster.command(shard.primary.endpoint.port, ["DBSIZE"]) == .integer(1))
            }
            let replies = try await client.pipeline(
                [RedisCommand("INCR", "{p}n"), RedisCommand("INCR", "{p}n"), RedisCommand("GET", "{p}n")], key: "{p}")
            #expect(replies == [.integer(1), .integer(2), .bulk(.init(string: "2"))])
            #expect(client.redirectsFollowed.moved == 0)
            #expect(client.redirectsFollowed.ask == 0)

            try await client.loadOnEveryPrimary(Self.library)
            for endpoint in map.primaries {
                let list = try await cluster.command(endpoint.port, ["FUNCTION", "LIST", "LIBRARYNAME", "clustertest"])
                #expect(list.array?.count == 1, "library on \(endpoint)")
            }
            // A function may SPUBLISH a channel of its own slot (its key), not of another.
            let channel = keys[0]
            let routed = client.routed(key: channel)
            #expect(try await routed.fcall("spub", keys: [channel], arguments: ["hello"]) == .integer(0))
            await #expect(throws: RedisError.self) {
                _ = try await routed.fcall("spub_to", keys: [channel], arguments: [keys[1], "elsewhere"])
            }
        }
    }

    @Test func aStaleMapFollowsMovedAfterASlotMigrationAndIsThenRight() async throws {
        try await withCluster { cluster, client in
            let key = "sse:{moving}:history"
            let slot = HashSlot(key: key)
            #expect(try await client.send(RedisCommand("SET", key, "before"), key: key) == .status("OK"))
            let source = try await cluster.primaryPort(of: slot)
            let target = try await cluster.primaryPorts().first { $0 != source }!
            #expect(try await client.slotMap().primary(for: slot)?.port == source)

            try await cluster.migrate(slot, to: target)
            // The client's map still names the source: the command is redirected once and succeeds.
            #expect(try await client.send(RedisCommand("GET", key), key: key).string == "before")
            #expect(client.redirectsFollowed.moved == 1)
            #expect(try await client.slotMap().primary(for: slot)?.port == target)
            // The refresh the redirect scheduled agrees, and the next command goes straight to the target.
            try await waitUntil("a slot map read after the redirect", timeout: .seconds(10)) {
                client.slotMapReads >= 2
            }
            #expect(try await client.refreshSlotMap().primary(for: slot)?.port == target)
            #expect(try await client.send(RedisCommand("SET", key, "after"), key: key) == .status("OK"))
            #expect(client.redirectsFollowed.moved == 1)
            #expect(try await cluster.command(target, ["GET", key]).string == "after")
        }
    }

    @Test func anOpenMigrationIsFollowedWithAskingWithoutChangingTheMap() async throws {
        try await withCluster { cluster, client in
            let present = "{asking}:present"
            let absent = "{asking}:absent"
            let slot = HashSlot(key: present)
            #expect(try await client.send(RedisCommand("SET", present, "on source"), key: present) == .status("OK"))
            let source = try await cluster.primaryPort(of: slot)
            let target = try await cluster.primaryPorts().first { $0 != source }!
            try await cluster.beginMigration(of: slot, to: target)

            // A key the source still has is served there; a key it lacks is asked of the target.
            #expect(try await client.send(RedisCommand("GET", present), key: present).string == "on source")
            #expect(client.redirectsFollowed.ask == 0)
            #expect(try await client.send(RedisCommand("SET", absent, "on target"), key: absent) == .status("OK"))
            #expect(client.redirectsFollowed.ask == 1)
            #expect(try await client.send(RedisCommand("GET", absent), key: absent).string == "on target")
            #expect(client.redirectsFollowed.ask == 2)
            #expect(client.redirectsFollowed.moved == 0)
            #expect(try await client.slotMap().primary(for: slot)?.port == source)
            #expect(try await cluster.command(source, ["EXISTS", absent]) == .error("ASK \(slot) 127.0.0.1:\(target)"))

            try await cluster.finishMigration(of: slot, from: source, to: target)
            #expect(
                try await client.send(RedisCommand("MGET", present, absent), key: present).array?.compactMap(\.string)
                    == ["on source", "on target"])
            #expect(client.redirectsFollowed.moved == 1)
            #expect(try await client.slotMap().primary(for: slot)?.port == target)
        }
    }
}
