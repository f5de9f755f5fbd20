import Logging
import RedisClient
import SSEHistory
import SSEProtocol
import ServerSupport

/// The board's model in Redis: adds posts and reads snapshots through the `board` function library, and reports
/// whether Redis is ready for the service.
///
/// Every call is one `FCALL`, bounded by the configured Redis timeout: on one Redis on the shared, reconnecting
/// ``RedisClient`` connection (see ``RedisConnection/withDeadline(_:doing:_:)``), on a Cluster on the primary of the
/// call's routing key (all board keys share the hash tag `{board}`). A library Redis lost (a restart without
/// persistence, `FUNCTION FLUSH`) is loaded again on first use (on a Cluster, on the shard that lost it), and within
/// a second by ``LibraryWatch``.
struct BoardStore: Sendable {
    let redis: PublisherRedis
    /// Posts kept in the list and shown.
    let boardLength: Int
    let timeout: Duration
    /// Where publishes through ``withHistory(_:_:)`` record their ids for the check after a failover
    /// (``AcknowledgementWatch``); nil records nothing.
    var acknowledged: AcknowledgedEvents? = nil

    /// Adds a post as the next model version; returns the snapshot at exactly that version (the new post first).
    func add(author: String, text: String) async throws -> BoardSnapshot {
        let keep = boardLength
        let reply = try await call("board_add", key: BoardLibrary.postsKey) { runner in
            try await runner.fcall(
                "board_add", keys: [BoardLibrary.postsKey, BoardLibrary.statsKey, BoardLibrary.publishedKey],
                arguments: [author, text, keep], loadingIfMissing: BoardLibrary.library)
        }
        return try BoardSnapshot(reply: reply)
    }

    /// The current model and the id of the newest board event, read in one atomic step.
    func snapshot() async throws -> BoardSnapshot {
        let keep = boardLength
        let reply = try await call("board_read", key: BoardLibrary.postsKey) { runner in
            try await runner.fcall(
                "board_read",
                keys: [BoardLibrary.postsKey, BoardLibrary.statsKey, BoardLibrary.topic.historyKey],
                arguments: [keep], loadingIfMissing: BoardLibrary.library)
        }
        return try BoardSnapshot(reply: reply)
    }

    /// Loads (or replaces) both function libraries the service calls: `sse` (reliable publish) and `board`; on a
    /// Cluster on every primary (a slot may move to any of them).
    func install() async throws {
        switch redis {
        case .single:
            try await call("FUNCTION LOAD", key: BoardLibrary.postsKey) { runner in
                try await History(runner: runner).install()
                try await runner.load(BoardLibrary.library)
            }
        case .cluster(let cluster):
            try await withDeadline(timeout, doing: "FUNCTION LOAD", address: redis.address) {
                try await History(cluster: cluster).install()
                try await cluster.loadOnEveryPrimary(BoardLibrary.library)
            }
        }
    }

    /// The libraries the service calls (`sse`, `board`) that Redis does not hold, in that order (on a Cluster:
    /// that some primary does not hold); throws when Redis does not answer.
    func missingLibraries() async throws -> [String] {
        let replies: [RedisReply]
        switch redis {
        case .single:
            replies = [
                try await call("FUNCTION LIST", key: BoardLibrary.postsKey) { runner in
                    try await runner.send(RedisCommand("FUNCTION", "LIST"))
                }
            ]
        case .cluster(let cluster):
            replies = try await withDeadline(timeout, doing: "FUNCTION LIST", address: redis.address) {
                var replies: [RedisReply] = []
                for endpoint in try await cluster.slotMap().primaries {
                    replies.append(try await cluster.client(for: endpoint).send(RedisCommand("FUNCTION", "LIST")))
                }
                return replies
            }
        }
        var missing: [String] = []
        for reply in replies {
            try reply.throwingServerError()
            let loaded = Set(
                (reply.array ?? []).compactMap { library -> String? in
                    guard let fields = library.array else { return nil }
                    let name = stride(from: 0, to: fields.count - 1, by: 2).first {
                        fields[$0].string == "library_name"
                    }
                    return name.flatMap { fields[$0 + 1].string }
                })
            for name in [HistoryLibrary.library.name, BoardLibrary.library.name]
            where !loaded.contains(name) && !missing.contains(name) {
                missing.append(name)
            }
        }
        return [HistoryLibrary.library.name, BoardLibrary.library.name].filter(missing.contains)
    }

    /// Nil when Redis answers and both libraries are loaded; otherwise why not, for `/readyz`.
    func unreadyReason() async -> String? {
        do {
            if let name = try await missingLibraries().first {
                return "Redis function library \"\(name)\" is not loaded"
            }
            return nil
        } catch {
            return "Redis unavailable: \(PublisherError.oneLine("\(error)"))"
        }
    }

    /// Runs `body` within the Redis timeout on a runner for `key`: the shared connection of one Redis, or the
    /// Cluster's commands routed to `key`'s slot.
    func call<Value: Sendable>(
        _ what: String, key: String, _ body: @escaping @Sendable (any RedisCommandRunner) async throws -> Value
    ) async throws -> Value {
        switch redis {
        case .single(let client):
            let connection = try await client.connection()
            return try await connection.withDeadline(timeout, doing: what) { connection in try await body(connection) }
        case .cluster(let cluster):
            return try await withDeadline(timeout, doing: what, address: redis.address) {
                try await body(cluster.routed(key: key))
            }
        }
    }

    /// Runs `body` within the Redis timeout with the ``History`` of this Redis: on the shared connection of one
    /// Redis, or in Cluster mode (each call on its topic's shard). Its publishes record into ``acknowledged``.
    func withHistory<Value: Sendable>(_ what: String, _ body: @escaping @Sendable (History) async throws -> Value)
        async throws -> Value
    {
        let acknowledged = self.acknowledged
        switch redis {
        case .single(let client):
            let connection = try await client.connection()
            return try await connection.withDeadline(timeout, doing: what) { connection in
                var history = History(runner: connection)
                history.acknowledged = acknowledged
                return try await body(history)
            }
        case .cluster(let cluster):
            return try await withDeadline(timeout, doing: what, address: redis.address) {
                var history = History(cluster: cluster)
                history.acknowledged = acknowledged
                return try await body(history)
            }
        }
    }
}
