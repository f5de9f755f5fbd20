import RedisClient
import SSEProtocol

/// What one run of `sse-load topology` sends and expects, without I/O: the topics spread evenly over the shards,
/// which topic each stream and each event is on, and so how many deliveries the streams must receive.
///
/// Stream `i` is on topic `i % topics.count` and event `k` on topic `k % topics.count`, so every topic carries the
/// same share of the events and of the streams (up to one), on one Redis and on the Cluster alike.
struct NodeCostPlan: Sendable, Equatable {
    /// Every topic, shard after shard (on one Redis, the same names in the same order).
    var topics: [Topic]
    /// For each topic, the index of its shard (all 0 on one Redis).
    var shardOfTopic: [Int]
    var streams: Int
    var events: Int

    /// `perShard` topics for each shard of `map`, tried in name order (`node-0`, `node-1`, …), each kept while
    /// its shard has fewer than its share; names are tried up to `limit` of them.
    static func spread(perShard: Int, over map: ClusterSlotMap, prefix: String = "node-", limit: Int = 100_000)
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

    /// The plan on the shards' topics; `clustered` false puts every topic on shard 0 (one Redis).
    init(shards: [[Topic]], clustered: Bool, streams: Int, events: Int) {
        topics = shards.flatMap { $0 }
        shardOfTopic = shards.enumerated().flatMap { index, topics in
            Array(repeating: clustered ? index : 0, count: topics.count)
        }
        self.streams = streams
        self.events = events
    }

    func topicIndex(ofStream index: Int) -> Int { index % topics.count }
    func topicIndex(ofEvent index: Int) -> Int { index % topics.count }

    /// Streams on topic `topic`.
    func streams(on topic: Int) -> Int { streams / topics.count + (topic < streams % topics.count ? 1 : 0) }
    /// Events on topic `topic`.
    func events(on topic: Int) -> Int { events / topics.count + (topic < events % topics.count ? 1 : 0) }

    /// Deliveries the streams must receive: each event once on every stream of its topic.
    var expectedDeliveries: Int { topics.indices.reduce(0) { $0 + events(on: $1) * streams(on: $1) } }
}
