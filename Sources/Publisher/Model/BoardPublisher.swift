import Logging
import RedisClient
import SSEHistory
import SSEProtocol

/// Publishes the board's patches on topic `board` so that a render of an older model version never overwrites a
/// newer one on any page, however many publisher processes post at once.
///
/// **The problem.** Two posts, A then B, are stored as model versions 7 and 8 (``BoardStore/add(author:text:)``
/// returns the list at exactly its version). Each request then renders its list and publishes it. If A's request
/// is slower (another process, a GC pause, a slow render), A's render of version 7 could be published after B's
/// render of version 8, and every page would end showing the board without B's post.
///
/// **The scheme: publish only what is newer than the last publish, atomically.** `board:{board}:published` holds
/// the version whose render was last published. On its own dedicated connection (``TransactionConnection``) a
/// request does `WATCH published`, `GET published`, and if its version is newer, one `MULTI`: `SET published V`
/// and the `FCALL sse_publish` of each render patch, then `EXEC`. If another process published in between, `EXEC`
/// aborts (the watched key changed) and the request looks again. If the published version is already newer, the
/// render is superseded: the newer render already contains this post, so it is dropped. Versions come from one
/// `HINCRBY` and are unique, so the published version only ever grows, and so does what clients see. The
/// notification patch (one per post, it says who posted) is published either way; it does not show model state.
///
/// **Why not a Redis function.** The check and the publish must be one atomic step, but a function cannot call
/// another library's function (`FCALL` is not allowed in scripts), and copying `sse_publish` would fork the Redis
/// contract. `MULTI` can run `FCALL`, so `WATCH`/`MULTI` gives the atomic step without a second copy.
///
/// **Failure.** If Redis lost the `sse` library, the `FCALL`s inside `EXEC` fail while the `SET` has run; the
/// library is loaded and the transaction retried, now also accepting `published == V` (only this request can have
/// written V). Any other error leaves `published` possibly ahead of what was sent: the list on pages then lags
/// until the next post, which renders the whole list again.
///
/// **On a Redis Cluster** the scheme is the same on one shard: `board:{board}:published` and the board topic's
/// stream and clock (`sse:{board}:history`, `sse:{board}:clock`) share the hash tag `{board}`, so the transaction
/// connection goes to the primary of that slot (``RedisConnector/init(cluster:slotOf:)``) and the publishes are
/// `sse_publish_sharded`. A `MOVED` (the slot was resharded, or a replica took over) reads the slot map again and
/// runs the turn again on a fresh connection to the new owner, at most ``maximumRedirects`` times.
struct BoardPublisher: Sendable {
    /// What happened to a post's patches.
    enum Outcome: Sendable, Equatable {
        /// The render patches and the notification went out, with these ids, in order.
        case published([EventID])
        /// A newer version was already published (by `version`); only the notification went out.
        case superseded(by: Int64, notice: EventID)
    }

    let transactions: TransactionConnection
    let historyLength: Int
    let logger: Logger
    /// The Cluster client on a Redis Cluster (the transaction connection then goes to the board slot's primary);
    /// nil on one Redis.
    var cluster: RedisClusterClient? = nil
    /// The Redis timeout, for a visitor's notice on a Cluster (which does not go through ``transactions``).
    var timeout: Duration = .seconds(2)
    /// Where acknowledged publishes are recorded for the check after a failover (``AcknowledgementWatch``).
    var acknowledged: AcknowledgedEvents? = nil

    /// How often a transaction is retried when `EXEC` aborts because another process published meanwhile.
    static let maximumAttempts = 10
    /// How often a turn is run again on a Cluster after `MOVED`, `ASK`, `TRYAGAIN` or `CLUSTERDOWN`.
    static let maximumRedirects = 3

    func publish(version: Int64, render: [Patch], notice: Patch) async throws -> Outcome {
        let topic = BoardLibrary.topic
        let maxLength = historyLength
        let key = BoardLibrary.publishedKey
        let sharded = cluster != nil
        let outcome = try await following("the board publish") { connection -> Outcome in
            var ownClaim = false
            for _ in 0..<Self.maximumAttempts {
                let head = try await connection.pipeline([RedisCommand("WATCH", key), RedisCommand("GET", key)])
                try head[0].throwingServerError()
                let published = try Self.version(in: head[1].throwingServerError(), key: key)
                if published > version || (published == version && !ownClaim) {
                    try await connection.send(RedisCommand("UNWATCH"))
                    let id = try await connection.publish(
                        History.publishCommand(
                            topic, event: nil, data: notice.json(), maxLength: maxLength, sharded: sharded))
                    acknowledged?.record(topic, id: id, on: connection)
                    return .superseded(by: published, notice: id)
                }
                let publishes = (render + [notice]).map {
                    History.publishCommand(topic, event: nil, data: $0.json(), maxLength: maxLength, sharded: sharded)
                }
                let replies = try await connection.pipeline(
                    [RedisCommand("MULTI"), RedisCommand("SET", key, version)] + publishes + [RedisCommand("EXEC")])
                let exec = replies[replies.count - 1]
                let publishReplies = exec.array?.dropFirst() ?? []
                // A missing function may be refused when queued (EXEC then aborts) or fail inside EXEC.
                if replies.contains(where: Self.isMissingFunction)
                    || publishReplies.contains(where: Self.isMissingFunction)
                {
                    try await History(runner: connection).install()
                    ownClaim = true
                    continue
                }
                for reply in replies { try reply.throwingServerError() }
                guard exec.array != nil else {
                    guard exec.isNull else { throw RedisError.unexpectedReply(command: "EXEC", reply: "\(exec)") }
                    continue  // another process published between WATCH and EXEC: look again
                }
                let ids = try publishReplies.map(History.eventID(fromPublishReply:))
                if let last = ids.last { acknowledged?.record(topic, id: last, on: connection) }
                return .published(ids)
            }
            throw RedisError.unexpectedReply(
                command: "EXEC", reply: "aborted \(Self.maximumAttempts) times: \(key) kept changing")
        }
        switch outcome {
        case .published(let ids):
            logger.debug(
                "board render published",
                metadata: ["sse.topic": "\(topic)", "board.version": "\(version)", "sse.event_ids": "\(ids)"])
        case .superseded(let newer, let id):
            logger.debug(
                "board render superseded",
                metadata: [
                    "sse.topic": "\(topic)", "board.version": "\(version)", "board.published": "\(newer)",
                    "sse.event_id": "\(id)",
                ])
        }
        return outcome
    }

    /// One patch on another topic (a visitor's), reliably (`sse_publish`, so it is in that topic's history and a
    /// page that reconnects still gets it), on the transaction connection but outside any transaction: it shows
    /// no model state, so it needs no version check.
    ///
    /// On a Cluster the topic lives on its own shard, so it goes there through the Cluster client instead.
    func publish(_ patch: Patch, on topic: Topic) async throws -> EventID {
        let maxLength = historyLength
        let acknowledged = self.acknowledged
        if let cluster {
            let data = patch.json()
            return try await withDeadline(
                timeout, doing: "a visitor's notice", address: cluster.clusterSeeds.displayURL
            ) {
                var history = History(cluster: cluster)
                history.acknowledged = acknowledged
                return try await history.publish(topic, event: nil, data: data, maxLength: maxLength)
            }
        }
        return try await transactions.run("a visitor's notice") { connection in
            var history = History(runner: connection)
            history.acknowledged = acknowledged
            return try await history.publish(topic, event: nil, data: patch.json(), maxLength: maxLength)
        }
    }

    /// One turn on the transaction connection; on a Cluster, run again on the slot's new owner after a redirect
    /// or a retryable refusal (the failed turn closed its connection, so the next connects afresh).
    private func following<Value>(_ what: String, _ body: (RedisConnection) async throws -> Value) async throws
        -> Value
    {
        var attempt = 0
        while true {
            do {
                return try await transactions.run(what, body)
            } catch RedisError.server(let message) where cluster != nil && Self.isClusterRetry(message) {
                attempt += 1
                guard attempt <= Self.maximumRedirects else { throw RedisError.server(message: message) }
                logger.debug("board publish redirected", metadata: ["redis.reply": "\(message)"])
                if message.hasPrefix("TRYAGAIN") || message.hasPrefix("ASK") {
                    try await Task.sleep(for: .milliseconds(50 * attempt))
                }
                _ = try? await cluster?.refreshSlotMap()
            }
        }
    }

    /// `MOVED`, `ASK`, `TRYAGAIN`, `CLUSTERDOWN` (also behind `EXECABORT`): the slot is elsewhere or moving.
    static func isClusterRetry(_ message: String) -> Bool {
        ["MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN"].contains { message.hasPrefix($0) }
    }

    /// The stored version, 0 when the key does not exist yet.
    static func version(in reply: RedisReply, key: String) throws -> Int64 {
        if reply.isNull { return 0 }
        guard let version = reply.int else {
            throw RedisError.unexpectedReply(command: "GET \(key)", reply: "\(reply)")
        }
        return version
    }

    static func isMissingFunction(_ reply: RedisReply) -> Bool {
        if case .error(let message) = reply { return message.contains("Function not found") }
        return false
    }
}

extension RedisConnection {
    /// Sends one `FCALL sse_publish…` command and answers its id; when this node lost the `sse` library, loads it
    /// here and sends the command once more.
    fileprivate func publish(_ command: RedisCommand) async throws -> EventID {
        do {
            return try History.eventID(fromPublishReply: try await send(command))
        } catch RedisError.server(let message) where message.contains("Function not found") {
            try await History(runner: self).install()
            return try History.eventID(fromPublishReply: try await send(command))
        }
    }
}
