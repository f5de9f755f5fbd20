import Logging
import RedisClient
import SSEHistory
import SSEProtocol
import ServerSupport

/// The board's model in Redis: adds posts and reads snapshots through the `board` function library, and reports
/// whether Redis is ready for the service.
///
/// Every call is one `FCALL` on the shared, reconnecting ``RedisClient`` connection, bounded by the configured
/// Redis timeout (see ``RedisConnection/withDeadline(_:doing:_:)``); a library Redis lost (a restart without
/// persistence, `FUNCTION FLUSH`) is loaded again on first use, and within a second by ``LibraryWatch``.
struct BoardStore: Sendable {
    let redis: RedisClient
    /// Posts kept in the list and shown.
    let boardLength: Int
    let timeout: Duration

    /// Adds a post as the next model version; returns the snapshot at exactly that version (the new post first).
    func add(author: String, text: String) async throws -> BoardSnapshot {
        let keep = boardLength
        let reply = try await call("board_add") { connection in
            try await connection.fcall(
                "board_add", keys: [BoardLibrary.postsKey, BoardLibrary.statsKey, BoardLibrary.publishedKey],
                arguments: [author, text, keep], loadingIfMissing: BoardLibrary.library)
        }
        return try BoardSnapshot(reply: reply)
    }

    /// The current model and the id of the newest board event, read in one atomic step.
    func snapshot() async throws -> BoardSnapshot {
        let keep = boardLength
        let reply = try await call("board_read") { connection in
            try await connection.fcall(
                "board_read",
                keys: [BoardLibrary.postsKey, BoardLibrary.statsKey, BoardLibrary.topic.historyKey],
                arguments: [keep], loadingIfMissing: BoardLibrary.library)
        }
        return try BoardSnapshot(reply: reply)
    }

    /// Loads (or replaces) both function libraries the service calls: `sse` (reliable publish) and `board`.
    func install() async throws {
        try await call("FUNCTION LOAD") { connection in
            try await History(runner: connection).install()
            try await connection.load(BoardLibrary.library)
        }
    }

    /// The libraries the service calls (`sse`, `board`) that Redis does not hold, in that order; throws when Redis
    /// does not answer.
    func missingLibraries() async throws -> [String] {
        let reply = try await call("FUNCTION LIST") { connection in
            try await connection.send(RedisCommand("FUNCTION", "LIST"))
        }
        try reply.throwingServerError()
        let loaded = Set(
            (reply.array ?? []).compactMap { library -> String? in
                guard let fields = library.array else { return nil }
                let name = stride(from: 0, to: fields.count - 1, by: 2).first {
                    fields[$0].string == "library_name"
                }
                return name.flatMap { fields[$0 + 1].string }
            })
        return [HistoryLibrary.library.name, BoardLibrary.library.name].filter { !loaded.contains($0) }
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

    /// Runs `body` on the client's connection within the Redis timeout.
    func call<Value>(_ what: String, _ body: (RedisConnection) async throws -> Value) async throws -> Value {
        let connection = try await redis.connection()
        return try await connection.withDeadline(timeout, doing: what, body)
    }
}
