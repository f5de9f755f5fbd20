import NIOCore
import RedisClient
import SSEProtocol

extension History {
    /// A fire-and-forget publish (no id, no history; see the README's "Fire-and-forget publish" for how the payload is
    /// read): `PUBLISH sse:{T}` on one Redis, `SPUBLISH sse:{T}` on the topic's shard on a Cluster (routed by the
    /// channel's slot). Returns the subscribers that received it (on a Cluster, those of that shard).
    @discardableResult
    public func publishFireAndForget(_ topic: Topic, payload: some RedisArgument) async throws -> Int {
        let reply: RedisReply
        if let cluster {
            reply = try await cluster.send(
                RedisCommand("SPUBLISH", arguments: [topic.channel, payload]), key: topic.channel)
        } else {
            reply = try await runner.send(RedisCommand("PUBLISH", arguments: [topic.channel, payload]))
        }
        guard let count = reply.int else {
            throw RedisError.unexpectedReply(command: isCluster ? "SPUBLISH" : "PUBLISH", reply: "\(reply)")
        }
        return Int(count)
    }

    /// Each topic's events after its own id: for every entry of `positions`, exactly what
    /// ``events(after:in:limit:)`` answers for that one topic and id (`.events` in id order, or why not).
    ///
    /// This is the exact resume of a multi-topic stream on a Cluster, where each topic's ids come from its own clock
    /// and cannot be compared with another topic's: one position per topic. Every topic is one `sse_history` call
    /// (on its shard, with its clock, on a Cluster; with the shared `sse:clock` on a single Redis), and the calls
    /// run concurrently, so the answers are one consistent snapshot per topic, not across topics.
    ///
    /// With `exact`, each id was issued in its topic (an entry of a stream position, a node's last relayed id of
    /// the topic): a topic whose history no longer holds it answers ``HistoryResult/unknownID``
    /// (see ``events(after:in:limit:issuedIn:)``).
    public func events(after positions: [Topic: EventID], limit: Int, exact: Bool = false) async throws
        -> [Topic: HistoryResult]
    {
        try await withThrowingTaskGroup(of: (Topic, HistoryResult).self) { group in
            for (topic, id) in positions {
                group.addTask { (topic, try await self.events(after: id, inOne: topic, limit: limit, exact: exact)) }
            }
            var results: [Topic: HistoryResult] = [:]
            for try await (topic, result) in group { results[topic] = result }
            return results
        }
    }

    /// The last id each topic's clock issued (its field `last`): on a Cluster `HGET sse:{T}:clock last` on each
    /// topic's shard, on a single Redis the shared `sse:clock`'s last id for every topic. A topic whose clock does
    /// not exist (nothing published since Redis lost its data) is absent.
    public func lastIDs(of topics: [Topic]) async throws -> [Topic: EventID] {
        guard !topics.isEmpty else { return [:] }
        guard isCluster else {
            guard let last = try await lastID(clock: HistoryLibrary.clockKey, on: runner) else { return [:] }
            return Dictionary(topics.map { ($0, last) }, uniquingKeysWith: { first, _ in first })
        }
        return try await withThrowingTaskGroup(of: (Topic, EventID?).self) { group in
            for topic in Set(topics) {
                group.addTask { (topic, try await self.lastID(clock: topic.clockKey, on: self.runner(for: topic))) }
            }
            var results: [Topic: EventID] = [:]
            for try await (topic, last) in group { results[topic] = last }
            return results
        }
    }

    private func lastID(clock: String, on runner: any RedisCommandRunner) async throws -> EventID? {
        let reply = try await runner.send(RedisCommand("HGET", clock, "last"))
        if reply.isNull { return nil }
        guard let bytes = reply.bytes, let id = EventID.parse(bytes) else {
            throw RedisError.unexpectedReply(command: "HGET \(clock) last", reply: "\(reply)")
        }
        return id
    }

    /// One topic's events after `id`, read against the clock its ids come from (its own on a Cluster).
    func events(after id: EventID, inOne topic: Topic, limit: Int, exact: Bool = false) async throws -> HistoryResult {
        try await history(
            after: id, clock: clockKey(for: topic), in: [topic], on: runner(for: topic), limit: limit,
            issuedIn: exact ? topic : nil)
    }

    /// Runs `read` for every topic concurrently and merges the answers: the first topic (in the order given) whose
    /// answer is not `.events` decides; otherwise every event, in id order, ties in topic order.
    func perTopic(
        _ topics: [Topic], _ read: @escaping @Sendable (History, Topic) async throws -> HistoryResult
    ) async throws -> HistoryResult {
        let answers = try await withThrowingTaskGroup(of: (Int, HistoryResult).self) { group in
            for (index, topic) in topics.enumerated() {
                group.addTask { (index, try await read(self, topic)) }
            }
            var answers = [HistoryResult?](repeating: nil, count: topics.count)
            for try await (index, answer) in group { answers[index] = answer }
            return answers.map { $0! }
        }
        var merged: [(index: Int, event: TopicEvent)] = []
        for (index, answer) in answers.enumerated() {
            guard case .events(let events) = answer else { return answer }
            merged += events.map { (index, $0) }
        }
        merged.sort { ($0.event.event.id!, $0.index) < ($1.event.event.id!, $1.index) }
        return .events(merged.map(\.event))
    }
}
