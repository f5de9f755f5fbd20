import NIOCore
import RedisClient
import SSEProtocol

/// Reliable publish and replay over any Redis connection or client, or a Redis Cluster, through the `sse` function
/// library.
///
/// Every call goes through `FCALL` with ``HistoryLibrary/library`` as fallback, so a Redis that lost its functions
/// (restart without persistence, `FUNCTION FLUSH`, failover to a fresh replica) gets them back on first use; on a
/// Cluster the fallback loads the library on the shard that answered `Function not found`, since each call runs
/// on its topic's shard. ``install()`` at process start is still worth doing: it fails fast on a Redis older
/// than 7.
///
/// **On a Cluster** (``init(cluster:)``) every topic has its own clock (``SSEProtocol/Topic/clockKey``): a publish
/// runs `sse_publish_sharded` on the topic's shard and goes out with `SPUBLISH`, and a topic's ids increase within
/// that topic only. Reads of several topics run per topic on each one's shard (see
/// ``events(after:in:limit:)`` for what a single id means there); revocations live in the slot of
/// ``HistoryLibrary/revocationsKey``.
public struct History: Sendable {
    /// Where commands go: the one Redis, or on a Cluster the runner routed to the revocations key's slot.
    public let runner: any RedisCommandRunner
    /// The Cluster client, nil on a single Redis or a Sentinel group.
    public let cluster: RedisClusterClient?
    /// Where publishes record the ids they were answered with, to be checked after a failover
    /// (``confirmAcknowledged(limit:maxLength:)``); nil records nothing.
    public var acknowledged: AcknowledgedEvents?

    public init(runner: any RedisCommandRunner) {
        self.runner = runner
        cluster = nil
    }

    /// Publishes and reads on a Redis Cluster: per-topic clocks, sharded publish, each call on its topic's shard.
    public init(cluster: RedisClusterClient) {
        self.cluster = cluster
        runner = cluster.routed(key: HistoryLibrary.revocationsKey)
    }

    /// Whether this history is on a Redis Cluster (per-topic clocks and ids, `SPUBLISH`).
    public var isCluster: Bool { cluster != nil }

    /// What a timed-out call names: the Cluster's seeds, or the server (or Sentinel group).
    public var address: String {
        cluster?.clusterSeeds.displayURL ?? (runner as? RedisClient)?.connector.address ?? "Redis"
    }

    /// The runner for commands about `topic`: its shard's on a Cluster, else the one Redis.
    func runner(for topic: Topic) -> any RedisCommandRunner {
        cluster.map { $0.routed(key: topic.historyKey) } ?? runner
    }

    /// The clock `topic`'s ids come from: its own on a Cluster, else the shared `sse:clock`.
    func clockKey(for topic: Topic) -> String { isCluster ? topic.clockKey : HistoryLibrary.clockKey }

    /// `sse_publish_sharded` on a Cluster, else `sse_publish`.
    var publishFunction: String { isCluster ? "sse_publish_sharded" : "sse_publish" }

    /// Loads (or replaces) the `sse` function library; on a Cluster on every primary (functions are not propagated
    /// between shards).
    public func install() async throws {
        if let cluster {
            try await cluster.loadOnEveryPrimary(HistoryLibrary.library)
        } else {
            try await runner.load(HistoryLibrary.library)
        }
    }

    /// Records a revocation and publishes it to every node (``HistoryLibrary``'s `sse_revoke`); returns the number
    /// of nodes that received it (on a Cluster, the subscribers of the node that ran it: its classic `PUBLISH` is
    /// still broadcast to every node).
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
        let connection = acknowledged == nil ? nil : openConnection(for: topic)
        let reply = try await runner(for: topic).fcall(
            publishFunction, keys: [topic.historyKey, clockKey(for: topic)],
            arguments: Self.publishArguments(topic, event: name, data: data, maxLength: maxLength),
            loadingIfMissing: HistoryLibrary.library)
        let id = try Self.eventID(fromPublishReply: reply)
        recordAcknowledged(topic, id: id, on: connection ?? openConnection(for: topic))
        return id
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
        let connection = acknowledged == nil ? nil : openConnection(for: topic)
        let reply = try await runner(for: topic).fcall(
            publishFunction, keys: [topic.historyKey, clockKey(for: topic), key.redisKey(on: topic)],
            arguments: Self.publishArguments(topic, event: name, data: data, maxLength: maxLength)
                + [max(windowSeconds, 1)],
            loadingIfMissing: HistoryLibrary.library)
        try reply.throwingServerError()
        guard let parts = reply.array, parts.count == 2, let id = parts[0].bytes.flatMap({ EventID.parse($0) }),
            let replayed = parts[1].int
        else {
            throw RedisError.unexpectedReply(command: "FCALL sse_publish", reply: "\(reply)")
        }
        recordAcknowledged(topic, id: id, on: connection ?? openConnection(for: topic))
        return Receipt(id: id, isReplay: replayed == 1)
    }

    /// The `FCALL sse_publish …` command, for callers that pipeline many publishes in one write (the library must
    /// be loaded already: a pipeline does not retry after `Function not found`).
    ///
    /// - Parameter sharded: the Cluster form, `FCALL sse_publish_sharded` with the topic's own clock: send it to
    ///   the topic's shard (`RedisClusterClient.pipeline(_:key:)` with `topic.historyKey`); pipelined commands of
    ///   one write must all be about topics of that one slot.
    public static func publishCommand(
        _ topic: Topic, event: EventName?, data: some RedisArgument, maxLength: Int, sharded: Bool = false
    ) -> RedisCommand {
        RedisCommand(
            "FCALL",
            arguments: [
                sharded ? "sse_publish_sharded" : "sse_publish", 2, topic.historyKey,
                sharded ? topic.clockKey : HistoryLibrary.clockKey,
            ] + publishArguments(topic, event: event, data: data, maxLength: maxLength))
    }

    /// ``publishCommand(_:event:data:maxLength:sharded:)`` in this history's mode (sharded on a Cluster).
    public func publishCommand(_ topic: Topic, event: EventName?, data: some RedisArgument, maxLength: Int)
        -> RedisCommand
    {
        Self.publishCommand(topic, event: event, data: data, maxLength: maxLength, sharded: isCluster)
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
    ///
    /// On a Cluster each topic is read on its own shard against its own clock (concurrently), and the answers are
    /// merged in id order (ties in topic order); the first topic, in the order given, whose answer is not
    /// `.events` decides the result. Ids of different topics are not ordered against each other there, so one id
    /// is only an approximate position across topics: for an exact resume keep one id per topic and call
    /// ``events(after:limit:)``.
    ///
    /// With `issuedIn`, `id` is an id of that topic (the last one a gateway node relayed, say): it must still be in
    /// the topic's history, or trimmed from it; when it is not, the data that held it was lost (a failover to a
    /// replica that had not received it) and the answer is ``HistoryResult/unknownID`` — even when Redis has
    /// issued later ids since. The topic is read too when it is not among `topics`, and its events left out.
    public func events(after id: EventID, in topics: [Topic], limit: Int, issuedIn: Topic? = nil) async throws
        -> HistoryResult
    {
        guard !topics.isEmpty else { return .events([]) }
        if isCluster {
            return try await perTopic(topics) { history, topic in
                try await history.events(after: id, inOne: topic, limit: limit, exact: topic == issuedIn)
            }
        }
        return try await history(
            after: id, clock: HistoryLibrary.clockKey, in: topics, on: runner, limit: limit, issuedIn: issuedIn)
    }

    /// One `FCALL sse_history` with `clock` as its clock, on `runner` (``events(after:in:limit:issuedIn:)``).
    func history(
        after id: EventID, clock: String, in topics: [Topic], on runner: any RedisCommandRunner, limit: Int,
        issuedIn: Topic? = nil
    ) async throws -> HistoryResult {
        var read = topics
        var arguments: [any RedisArgument] = [id.description, max(limit, 1)]
        if let issuedIn {
            if !read.contains(issuedIn) { read.append(issuedIn) }
            arguments.append(read.firstIndex(of: issuedIn)! + 1)
        }
        let reply = try await runner.fcall(
            "sse_history", keys: [clock] + read.map(\.historyKey), arguments: arguments,
            loadingIfMissing: HistoryLibrary.library)
        let result = try HistoryResult(reply: reply, topics: read)
        guard read.count > topics.count, case .events(let events) = result else { return result }
        return .events(events.filter { $0.topic != issuedIn })
    }
}
