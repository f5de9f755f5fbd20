import Foundation
import Logging
import NIOCore
import RedisClient
import SSEHistory
import SSEProtocol

/// Where the fan-out reads history: the node hub for backfills, loop hubs for replays and catch-ups
/// (``HistoryReader``; a fake in unit tests). Futures may complete on any loop.
protocol HistorySource: Sendable {
    /// The events of `topics` after `id`, in id order (``History/events(after:in:limit:issuedIn:)``); with
    /// `issuedIn`, `id` must still be in that topic's history (or trimmed from it), else Redis lost it and the answer
    /// is ``HistoryResult/unknownID``.
    func read(topics: [Topic], after id: EventID, issuedIn: Topic?) -> EventLoopFuture<HistoryResult>
    /// Everything the current data holds for `topics` (after a data loss).
    func readFromOrigin(topics: [Topic]) -> EventLoopFuture<HistoryResult>
    /// The control payloads of the revocations still in force (``History/revocations(now:)``).
    func revocations() -> EventLoopFuture<[String]>
    /// Each topic's events after its own id (``History/events(after:limit:)``): a positioned stream's replay, a
    /// topic's backfill on a Redis Cluster.
    /// With `exact`, each id must still be in its topic's history (it was issued there), else that topic answers
    /// ``HistoryResult/unknownID``.
    func read(positions: [Topic: EventID], exact: Bool) -> EventLoopFuture<[Topic: HistoryResult]>
    /// Everything the current data holds for each topic, answered per topic.
    func readFromOrigin(perTopic topics: [Topic]) -> EventLoopFuture<[Topic: HistoryResult]>
    /// The last id of each topic's clock (``History/lastIDs(of:)``); topics never published are absent.
    func lastIDs(of topics: [Topic]) -> EventLoopFuture<[Topic: EventID]>
}

extension HistorySource {
    func read(topics: [Topic], after id: EventID) -> EventLoopFuture<HistoryResult> {
        read(topics: topics, after: id, issuedIn: nil)
    }
}

/// Reads topic history for replays and backfills through the node's command connections (not the subscriber's):
/// one Redis's, or on a Cluster each topic's shard's.
///
/// Every read is bounded by ``readTimeout``: a read sent to a server that stopped answering (a frozen primary, whose
/// replica may already serve its slots) fails as ``RedisError/commandTimeout(address:command:milliseconds:)``
/// instead of holding its stream's replay until the server wakes; the callers read again (a replay twice, then
/// the stream is closed for its client to come back), and on a Cluster the timeout refreshes the slot map first.
struct HistoryReader: HistorySource {
    let history: History
    /// Most events replayed per topic; a client further behind gets a resync instead of a partial replay.
    let limit: Int
    let eventLoop: any EventLoop
    let readTimeout: Duration

    /// How long a history read may take. Reads are a few milliseconds even for a full replay; this is for a server
    /// that does not answer at all.
    static let defaultReadTimeout = Duration.seconds(5)

    init(
        history: History, historyLength: Int, eventLoop: any EventLoop,
        readTimeout: Duration = HistoryReader.defaultReadTimeout
    ) {
        self.history = history
        self.limit = historyLength * 2 + 100  // `MAXLEN ~` may keep somewhat more than the configured length
        self.eventLoop = eventLoop
        self.readTimeout = readTimeout
    }

    /// `body` on the reader's loop, within ``readTimeout``.
    private func bounded<Value: Sendable>(
        _ what: String, _ body: @escaping @Sendable () async throws -> Value
    ) -> EventLoopFuture<Value> {
        eventLoop.makeFutureWithTask { [readTimeout, history] in
            do {
                return try await withDeadline(readTimeout, doing: what, address: history.address, body)
            } catch RedisError.commandTimeout(let address, let command, let milliseconds) {
                // The server may be gone for good, its slots served by a replica now: the next read should know.
                if let cluster = history.cluster { Task { _ = try? await cluster.refreshSlotMap() } }
                throw RedisError.commandTimeout(address: address, command: command, milliseconds: milliseconds)
            }
        }
    }

    func read(positions: [Topic: EventID], exact: Bool) -> EventLoopFuture<[Topic: HistoryResult]> {
        bounded("a history read") { [history, limit] in
            try await history.events(after: positions, limit: limit, exact: exact)
        }
    }

    func readFromOrigin(perTopic topics: [Topic]) -> EventLoopFuture<[Topic: HistoryResult]> {
        bounded("a history read") { [history, limit] in
            try await withThrowingTaskGroup(of: (Topic, HistoryResult).self) { group in
                for topic in topics {
                    group.addTask { (topic, try await history.eventsFromOrigin(in: [topic], limit: limit)) }
                }
                var answers: [Topic: HistoryResult] = [:]
                for try await (topic, answer) in group { answers[topic] = answer }
                return answers
            }
        }
    }

    func lastIDs(of topics: [Topic]) -> EventLoopFuture<[Topic: EventID]> {
        bounded("a clock read") { [history] in try await history.lastIDs(of: topics) }
    }

    func read(topics: [Topic], after id: EventID, issuedIn: Topic?) -> EventLoopFuture<HistoryResult> {
        bounded("a history read") { [history, limit] in
            try await history.events(after: id, in: topics, limit: limit, issuedIn: issuedIn)
        }
    }

    /// Everything the current data of Redis holds for `topics` (``History/eventsFromOrigin(in:limit:)``): what is
    /// left to deliver after a stream was told `resync` because Redis lost its data.
    func readFromOrigin(topics: [Topic]) -> EventLoopFuture<HistoryResult> {
        bounded("a history read") { [history, limit] in
            try await history.eventsFromOrigin(in: topics, limit: limit)
        }
    }

    func revocations() -> EventLoopFuture<[String]> {
        bounded("a revocations read") { [history] in
            try await history.revocations(now: Date().timeIntervalSince1970)
        }
    }

    /// Loads the `sse` function library, retrying while Redis is unreachable (until cancelled).
    func installLibrary(logger: Logger) async {
        var delay = Duration.milliseconds(100)
        while !Task.isCancelled {
            do {
                try await history.install()
                logger.debug("sse function library installed")
                return
            } catch {
                logger.warning("cannot install the sse function library yet", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }
}
