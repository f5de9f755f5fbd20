import RedisClient
import SSEProtocol

extension History {
    /// What ``confirm(_:acknowledged:maxLength:)`` found.
    public enum Confirmation: Sendable, Hashable {
        /// The topic's history holds the id (or trimmed it).
        case held
        /// The clock does not cover the id (Redis lost all its data, or everything before its origin): every reader
        /// holding such an id is told by the gateway itself.
        case unknown
        /// The write was lost: a `resync` event with this id marks the hole in the topic's history and went out to
        /// its streams (`isNew` false: an earlier check of the same id had published it, nothing went out now).
        case lost(marker: EventID, isNew: Bool)
    }

    /// The data of the `resync` event that marks a lost write in `topic`'s history: the gateway's own notice, with
    /// reason `events-lost`.
    public static func lostNotice(for topic: Topic) -> String {
        "{\"reason\":\"events-lost\",\"topics\":[" + JSONValue.string(topic.name).compactText + "]}"
    }

    /// The key that makes the marker of a lost `id` be published once: an idempotency key of `topic` in its slot,
    /// kept a day, `sse:{T}:idem:` + 0x1E + `lost-<id>` (a byte no caller's key may hold, so none collides with it).
    static func markerKey(of id: EventID, on topic: Topic) -> String {
        topic.channel + ":idem:\u{1E}lost-\(id)"
    }

    /// `sse_confirm_sharded` on a Cluster, else `sse_confirm`.
    var confirmFunction: String { isCluster ? "sse_confirm_sharded" : "sse_confirm" }

    /// Checks that `topic`'s history still holds `id`, which a publish was answered with; when the write was lost
    /// (a failover to a replica that had not received it), marks the hole with a `resync` event in the history and
    /// on the topic's channel (``HistoryLibrary``'s `sse_confirm`).
    public func confirm(_ topic: Topic, acknowledged id: EventID, maxLength: Int) async throws -> Confirmation {
        let reply = try await runner(for: topic).fcall(
            confirmFunction, keys: [topic.historyKey, clockKey(for: topic), Self.markerKey(of: id, on: topic)],
            arguments: [topic.channel, max(maxLength, 0), id.description, Self.lostNotice(for: topic)],
            loadingIfMissing: HistoryLibrary.library)
        try reply.throwingServerError()
        guard let parts = reply.array, let status = parts.first?.string else {
            throw RedisError.unexpectedReply(command: "FCALL \(confirmFunction)", reply: "\(reply)")
        }
        switch (status, parts.count) {
        case ("held", 1): return .held
        case ("unknown", 1): return .unknown
        case ("lost", 3):
            if let marker = parts[1].bytes.flatMap({ EventID.parse($0) }), let replayed = parts[2].int {
                return .lost(marker: marker, isNew: replayed == 0)
            }
        default: break
        }
        throw RedisError.unexpectedReply(command: "FCALL \(confirmFunction)", reply: "\(reply)")
    }

    /// The open connection a command about `topic` would go out on now (nil when none is open). Never connects.
    func openConnection(for topic: Topic) -> RedisConnection? {
        if let cluster { return cluster.openConnection(forKey: topic.historyKey) }
        if let client = runner as? RedisClient { return client.openConnection }
        if let connection = runner as? RedisConnection { return connection.isActive ? connection : nil }
        return nil
    }

    /// The address of the server that serves `topic` now: on a Cluster its slot's primary in the current map,
    /// else the open connection's server (nil when unknown). Never connects.
    func serverAddress(for topic: Topic) -> String? {
        if let cluster { return cluster.primaryAddress(forKey: topic.historyKey) }
        return openConnection(for: topic)?.configuration.address
    }

    /// Records an acknowledged publish in ``acknowledged`` (when set): `connection` is the one open before the publish
    /// went out, else the one open after it (the publish opened it).
    func recordAcknowledged(_ topic: Topic, id: EventID, on connection: RedisConnection?) {
        acknowledged?.record(topic, id: id, on: connection)
    }

    /// One round of checks of ``acknowledged``: each topic whose connection was replaced since its newest publish was
    /// answered is confirmed on its current primary (at most `limit`, oldest first); the round stops at the first
    /// error (Redis is still failing over: the next round tries again). Returns the topics found lost.
    @discardableResult
    public func confirmAcknowledged(limit: Int = 1000, maxLength: Int) async throws -> [(Topic, EventID)] {
        guard let acknowledged else { return [] }
        var lost: [(Topic, EventID)] = []
        for (topic, id) in acknowledged.due(server: serverAddress(for:)).prefix(limit) {
            let connection = openConnection(for: topic)
            switch try await confirm(topic, acknowledged: id, maxLength: maxLength) {
            case .held, .unknown:
                acknowledged.confirmed(topic, id: id, on: connection)
            case .lost(let marker, let isNew):
                acknowledged.confirmed(topic, id: id, on: connection, marker: marker, isNew: isNew)
                if isNew { lost.append((topic, id)) }
            }
        }
        return lost
    }
}
