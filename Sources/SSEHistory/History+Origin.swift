import NIOCore
import RedisClient
import SSEProtocol

extension History {
    /// Every event this Redis's current data holds for `topics`, from the clock's `origin` (the first id it issued
    /// since it last lost its data) on, merged in id order: what a stream can still be given after it was told
    /// `resync` because Redis lost the data its position referred to. No clock means nothing was published since
    /// the loss (`.events([])`); more than `limit` events in a topic, or a topic trimmed past its origin, answer
    /// `.limitExceeded` or `.trimmed` as ``events(after:in:limit:)`` does.
    ///
    /// On a Cluster each topic is read from its own clock's origin on its shard, and the answers are merged as
    /// ``events(after:in:limit:)`` merges them there.
    public func eventsFromOrigin(in topics: [Topic], limit: Int) async throws -> HistoryResult {
        guard !topics.isEmpty else { return .events([]) }
        if isCluster {
            return try await perTopic(topics) { history, topic in
                try await history.eventsFromOrigin(
                    clock: topic.clockKey, in: [topic], on: history.runner(for: topic), limit: limit)
            }
        }
        return try await eventsFromOrigin(clock: HistoryLibrary.clockKey, in: topics, on: runner, limit: limit)
    }

    /// The events of `topics` from `clock`'s origin on, all read through `runner`.
    func eventsFromOrigin(clock: String, in topics: [Topic], on runner: any RedisCommandRunner, limit: Int)
        async throws -> HistoryResult
    {
        let reply = try await runner.send(RedisCommand("HGET", clock, "origin"))
        guard let text = reply.string, let origin = try? EventID(parsing: text) else {
            return .events([])
        }
        // `sse_history` reads after an id; the origin event itself is read on its own (it is in one topic or none).
        let after = try await history(after: origin, clock: clock, in: topics, on: runner, limit: limit)
        guard case .events(var events) = after else { return after }
        for topic in topics {
            let entries = try await runner.send(RedisCommand("XRANGE", topic.historyKey, text, text))
            guard let entry = entries.array?.first else { continue }
            guard let event = HistoryResult.event(fromStreamEntry: entry) else {
                throw RedisError.unexpectedReply(command: "XRANGE", reply: "\(entries)")
            }
            events.insert(TopicEvent(topic: topic, event: event), at: 0)
            break
        }
        return .events(events)
    }
}
