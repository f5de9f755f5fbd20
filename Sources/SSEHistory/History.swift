import NIOCore
import RedisClient
import SSEProtocol

/// Reliable publish and replay over any Redis connection or client, through the `sse` function library.
///
/// Every call goes through `FCALL` with ``HistoryLibrary/library`` as fallback, so a Redis that lost its functions
/// (restart without persistence, `FUNCTION FLUSH`, failover to a fresh replica) gets them back on first use.
/// ``install()`` at process start is still worth doing: it fails fast on a Redis older than 7.
public struct History: Sendable {
    public let runner: any RedisCommandRunner

    public init(runner: any RedisCommandRunner) {
        self.runner = runner
    }

    /// Loads (or replaces) the `sse` function library.
    public func install() async throws {
        try await runner.load(HistoryLibrary.library)
    }

    /// Records a revocation and publishes it to every node (``HistoryLibrary``'s `sse_revoke`); returns the number
    /// of nodes that received it.
    public func revoke(_ revocation: ControlMessage.Revocation) async throws -> Int {
        let reply = try await runner.fcall(
            "sse_revoke", keys: [HistoryLibrary.revocationsKey],
            arguments: [ControlMessage.revoke(revocation).payload], loadingIfMissing: HistoryLibrary.library)
        try reply.throwingServerError()
        guard let nodes = reply.int else {
            throw RedisError.unexpectedReply(command: "FCALL sse_revoke", reply: "\(reply)")
        }
        return Int(nodes)
    }

    /// The payloads of the revocations still in force at `now` (Unix seconds), for a node that (re)connects.
    public func revocations(now: Double) async throws -> [String] {
        let reply = try await runner.send(
            RedisCommand("ZRANGEBYSCORE", arguments: [HistoryLibrary.revocationsKey, "(\(Int64(now))", "+inf"]))
        return (reply.array ?? []).compactMap { $0.bytes.map { String(decoding: $0, as: UTF8.self) } }
    }

    /// Appends an event to `topic`'s history (capped near `maxLength` entries) and publishes it to the topic's
    /// subscribers, in one atomic step; returns the id it was given.
    ///
    /// `event` nil or empty sends no `event:` field. An invalid name throws ``SSEProtocolError`` before anything
    /// reaches Redis. The history is trimmed in batches, so it keeps between `maxLength` and about 10 % more
    /// entries (see ``HistoryLibrary``).
    public func publish(_ topic: Topic, event: String?, data: some RedisArgument, maxLength: Int) async throws
        -> EventID
    {
        let name: EventName? = if let event, !event.isEmpty { try EventName(validating: event) } else { nil }
        let reply = try await runner.fcall(
            "sse_publish", keys: [topic.historyKey, HistoryLibrary.clockKey],
            arguments: Self.publishArguments(topic, event: name, data: data, maxLength: maxLength),
            loadingIfMissing: HistoryLibrary.library)
        return try Self.eventID(fromPublishReply: reply)
    }

    /// What a publish with an idempotency key did: the id, and whether it is the id of an earlier publish with
    /// the same key (then nothing was published this time).
    public struct Receipt: Sendable, Hashable {
        public var id: EventID
        public var isReplay: Bool

        public init(id: EventID, isReplay: Bool) {
            self.id = id
            self.isReplay = isReplay
        }
    }

    /// Like ``publish(_:event:data:maxLength:)``, but retry-safe: the first publish with `key` on `topic` stores
    /// its id for `windowSeconds`, and a repeat within that window answers that id and publishes nothing.
    public func publish(
        _ topic: Topic, event: String?, data: some RedisArgument, maxLength: Int, idempotencyKey key: IdempotencyKey,
        windowSeconds: Int
    ) async throws -> Receipt {
        let name: EventName? = if let event, !event.isEmpty { try EventName(validating: event) } else { nil }
        let reply = try await runner.fcall(
            "sse_publish", keys: [topic.historyKey, HistoryLibrary.clockKey, key.redisKey(on: topic)],
            arguments: Self.publishArguments(topic, event: name, data: data, maxLength: maxLength)
                + [max(windowSeconds, 1)],
            loadingIfMissing: HistoryLibrary.library)
        try reply.throwingServerError()
        guard let parts = reply.array, parts.count == 2, let id = parts[0].bytes.flatMap({ EventID.parse($0) }),
            let replayed = parts[1].int
        else {
            throw RedisError.unexpectedReply(command: "FCALL sse_publish", reply: "\(reply)")
        }
        return Receipt(id: id, isReplay: replayed == 1)
    }

    /// The `FCALL sse_publish …` command, for callers that pipeline many publishes in one write (the library must
    /// be loaded already: a pipeline does not retry after `Function not found`).
    public static func publishCommand(_ topic: Topic, event: EventName?, data: some RedisArgument, maxLength: Int)
        -> RedisCommand
    {
        RedisCommand(
            "FCALL",
            arguments: ["sse_publish", 2, topic.historyKey, HistoryLibrary.clockKey]
                + publishArguments(topic, event: event, data: data, maxLength: maxLength))
    }

    /// The id in a reply to `sse_publish`; an error reply is thrown as ``RedisClient/RedisError/server(message:)``.
    public static func eventID(fromPublishReply reply: RedisReply) throws -> EventID {
        try reply.throwingServerError()
        guard let bytes = reply.bytes, let id = EventID.parse(bytes) else {
            throw RedisError.unexpectedReply(command: "FCALL sse_publish", reply: "\(reply)")
        }
        return id
    }

    private static func publishArguments(
        _ topic: Topic, event: EventName?, data: some RedisArgument, maxLength: Int
    ) -> [any RedisArgument] {
        [topic.channel, max(maxLength, 0), event?.value ?? "", data]
    }

    /// The events published to `topics` after `id`, merged in id order, or why they cannot be replayed.
    ///
    /// At most `limit` events per topic are read; a topic with more after `id` answers
    /// ``HistoryResult/limitExceeded(_:)`` rather than a partial list, because a partial replay followed by live
    /// events would leave a hole. One `FCALL`, so the answer is one consistent snapshot of all topics.
    public func events(after id: EventID, in topics: [Topic], limit: Int) async throws -> HistoryResult {
        guard !topics.isEmpty else { return .events([]) }
        let reply = try await runner.fcall(
            "sse_history", keys: [HistoryLibrary.clockKey] + topics.map(\.historyKey),
            arguments: [id.description, max(limit, 1)], loadingIfMissing: HistoryLibrary.library)
        return try HistoryResult(reply: reply, topics: topics)
    }
}
