import RedisClient
import SSEProtocol

/// Topics for the topology benchmark, the same names on every topology, spread evenly over a Cluster's shards.
///
/// A topic's slot is that of its hash tag (`sse:{NAME}`), so the names are tried in order (`bench-0`, `bench-1`, …)
/// and each is kept while its shard has fewer than its share: every shard then gets exactly `perShard` topics, and
/// the load each shard receives differs only by what Redis itself does with it.
enum ShardTopics {
    /// `perShard` topics for each shard of `map`, in shard order; the names are tried up to `limit` of them.
    static func spread(perShard: Int, over map: ClusterSlotMap, prefix: String = "bench-", limit: Int = 100_000)
        -> [[Topic]]
    {
        var shards = Array(repeating: [Topic](), count: map.shards.count)
        let primaries = map.shards.map(\.primary.endpoint)
        var index = 0
        while index < limit, shards.contains(where: { $0.count < perShard }) {
            defer { index += 1 }
            guard let topic = try? Topic(validating: "\(prefix)\(index)"),
                let owner = map.primary(for: HashSlot(key: topic.historyKey)),
                let shard = primaries.firstIndex(of: owner), shards[shard].count < perShard
            else { continue }
            shards[shard].append(topic)
        }
        return shards
    }

    /// The topics of `shard` that connection `index` of the shard's `connections` publishes on: every
    /// `connections`-th one, starting at `index` (all of them, repeated, when there are fewer topics than
    /// connections).
    static func share(of topics: [Topic], connection index: Int, of connections: Int) -> [Topic] {
        guard topics.count > connections else { return [topics[index % topics.count]] }
        return stride(from: index, to: topics.count, by: connections).map { topics[$0] }
    }
}
