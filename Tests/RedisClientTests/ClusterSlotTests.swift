import LocalRedis
import RedisClient
import Testing

@Suite("Hash slots and the slot map")
struct ClusterSlotTests {
    @Test func hashSlotsOfTheSpecificationsExamplesAreExact() {
        #expect(HashSlot(key: "123456789").value == 12739)
        #expect(HashSlot(key: "").value == 0)
        #expect(HashSlot(key: "foo").value == 12182)
        // The hash tag: the text between the first `{` and the next `}`, when not empty.
        #expect(HashSlot(key: "{user1000}.following") == HashSlot(key: "{user1000}.followers"))
        #expect(HashSlot(key: "{user1000}.following") == HashSlot(key: "user1000"))
        #expect(HashSlot(key: "foo{}{bar}") == HashSlot(key: "foo{}{bar}"))
        #expect(HashSlot(key: "foo{}{bar}") != HashSlot(key: "bar"))
        #expect(HashSlot(key: "foo{{bar}}zap") == HashSlot(key: "{bar"))
        #expect(HashSlot(key: "foo{bar}{zap}") == HashSlot(key: "bar"))
        #expect(HashSlot(key: "sse:{news}:events") == HashSlot(key: "sse:{news}:history"))
    }

    @Test func redirectsAreParsedWithTheirSlotAndAddress() {
        #expect(
            ClusterRedirect(errorMessage: "MOVED 3999 127.0.0.1:6381")
                == ClusterRedirect(kind: .moved, slot: HashSlot(3999), endpoint: .tcp(host: "127.0.0.1", port: 6381)))
        #expect(
            ClusterRedirect(errorMessage: "ASK 12 ::1:7002")
                == ClusterRedirect(kind: .ask, slot: HashSlot(12), endpoint: .tcp(host: "::1", port: 7002)))
        #expect(
            ClusterRedirect(errorMessage: "MOVED 1 [::1]:7003")?.endpoint == .tcp(host: "::1", port: 7003))
        #expect(
            ClusterRedirect(errorMessage: "MOVED 5 :7004", defaultHost: "10.0.0.9")?.endpoint
                == .tcp(host: "10.0.0.9", port: 7004))
        #expect(ClusterRedirect(errorMessage: "MOVED 16384 127.0.0.1:1") == nil)
        #expect(ClusterRedirect(errorMessage: "ERR MOVED 1 127.0.0.1:1") == nil)
        #expect(ClusterRedirect(errorMessage: "WRONGTYPE Operation against a key") == nil)
    }

    @Test func theSlotMapCorrectedByAMovedRedirectSplitsAndMergesRanges() {
        let a = ClusterNode(id: "a", endpoint: .tcp(host: "127.0.0.1", port: 1), role: .primary)
        let b = ClusterNode(id: "b", endpoint: .tcp(host: "127.0.0.1", port: 2), role: .primary)
        var map = ClusterSlotMap(shards: [
            ClusterShard(slotRanges: [0...8191], primary: a), ClusterShard(slotRanges: [8192...16383], primary: b),
        ])
        #expect(map.coversEverySlot)
        map.assign(HashSlot(100), to: b.endpoint)
        #expect(map.primary(for: HashSlot(100)) == b.endpoint)
        #expect(map.shards[0].slotRanges == [0...99, 101...8191])
        #expect(map.shards[1].slotRanges == [100...100, 8192...16383])
        map.assign(HashSlot(8191), to: b.endpoint)
        #expect(map.shards[1].slotRanges == [100...100, 8191...16383])
        #expect(map.shards[0].slotCount + map.shards[1].slotCount == HashSlot.count)
    }

    @Test func slotsAndTheSlotMapMatchWhatTheClusterSays() async throws {
        try await withCluster { cluster, client in
            let port = cluster.nodes[0].port
            // A table of keys, checked against the server's own CLUSTER KEYSLOT.
            var keys = ["", "a", "foo", "123456789", "{}", "{a}", "x{}y", "{{a}}", "a{b}c{d}", "sse:{news}:events"]
            keys += (0..<200).map { "key:\($0)" } + (0..<50).map { "sse:{topic-\($0)}:history" } + ["日本語", "ü{ö}"]
            for key in keys {
                let expected = try await cluster.command(port, ["CLUSTER", "KEYSLOT", key]).int
                #expect(Int64(HashSlot(key: key).value) == expected, "slot of \(key)")
            }

            // Replication offsets move on; the routing and the nodes must be the same.
            func routing(_ map: ClusterSlotMap) -> [String] {
                map.shards.map { "\($0.slotRanges) \($0.primary.id) \($0.primary.endpoint) \($0.replicas.map(\.id))" }
            }
            // A healthy cluster may not yet have gossiped every replica to every node (under load, seconds after the
            // start): the client's map (read from any node) and node 0's own `CLUSTER SHARDS` are compared once both
            // list all six nodes, and must then agree within the deadline.
            var map = try await client.slotMap()
            var direct = map
            try await waitUntil(
                "the client's map and node 0's CLUSTER SHARDS to agree on all six nodes", timeout: .seconds(30),
                every: .milliseconds(100)
            ) {
                map = try await client.refreshSlotMap()
                direct = try ClusterSlotMap(clusterShards: try await cluster.command(port, ["CLUSTER", "SHARDS"]))
                return map.allEndpoints.count == cluster.nodes.count
                    && direct.allEndpoints.count == cluster.nodes.count && routing(map) == routing(direct)
            }
            #expect(map.coversEverySlot)
            #expect(map.shards.count == 3)
            #expect(map.shards.map(\.replicas.count) == [1, 1, 1])
            #expect(Set(map.allEndpoints.map(\.port)) == Set(cluster.nodes.map(\.port)))
            #expect(map.shards.map(\.slotCount).reduce(0, +) == HashSlot.count)
            for shard in map.shards {
                #expect(shard.primary.id == (try await cluster.nodeID(port: shard.primary.endpoint.port)))
                #expect(shard.primary.health == "online")
                #expect(
                    try await cluster.command(shard.primary.endpoint.port, ["ROLE"]).array?.first?.string == "master")
                #expect(
                    try await cluster.command(shard.replicas[0].endpoint.port, ["ROLE"]).array?.first?.string == "slave"
                )
            }
            // CLUSTER SLOTS gives the same routing.
            let slots = try ClusterSlotMap(clusterSlots: try await cluster.command(port, ["CLUSTER", "SLOTS"]))
            for slot in stride(from: 0, to: HashSlot.count, by: 97) {
                #expect(slots.primary(for: HashSlot(slot)) == map.primary(for: HashSlot(slot)))
            }
        }
    }
}
