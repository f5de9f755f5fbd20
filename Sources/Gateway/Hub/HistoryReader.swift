import Foundation
import Logging
import NIOCore
import RedisClient
import SSEHistory
import SSEProtocol

/// Where the fan-out reads history: the node hub for backfills, loop hubs for replays and catch-ups
/// (``HistoryReader``; a fake in unit tests). Futures may complete on any loop.
protocol HistorySource: Sendable {
    /// The events of `topics` after `id`, in id order (``History/events(after:in:limit:)``).
    func read(topics: [Topic], after id: EventID) -> EventLoopFuture<HistoryResult>
    /// Everything the current data holds for `topics` (after a data loss).
    func readFromOrigin(topics: [Topic]) -> EventLoopFuture<HistoryResult>
    /// The control payloads of the revocations still in force (``History/revocations(now:)``).
    func revocations() -> EventLoopFuture<[String]>
}

/// Reads topic history for replays and backfills through the node's command connection (not the subscriber's).
struct HistoryReader: HistorySource {
    let history: History
    /// Most events replayed per topic; a client further behind gets a resync instead of a partial replay.
    let limit: Int
    let eventLoop: any EventLoop

    init(redis: RedisClient, historyLength: Int, eventLoop: any EventLoop) {
        self.history = History(runner: redis)
        self.limit = historyLength * 2 + 100  // `MAXLEN ~` may keep somewhat more than the configured length
        self.eventLoop = eventLoop
    }

    func read(topics: [Topic], after id: EventID) -> EventLoopFuture<HistoryResult> {
        eventLoop.makeFutureWithTask { [history, limit] in
            try await history.events(after: id, in: topics, limit: limit)
        }
    }

    /// Everything the current data of Redis holds for `topics` (``History/eventsFromOrigin(in:limit:)``): what is
    /// left to deliver after a stream was told `resync` because Redis lost its data.
    func readFromOrigin(topics: [Topic]) -> EventLoopFuture<HistoryResult> {
        eventLoop.makeFutureWithTask { [history, limit] in
            try await history.eventsFromOrigin(in: topics, limit: limit)
        }
    }

    func revocations() -> EventLoopFuture<[String]> {
        eventLoop.makeFutureWithTask { [history] in
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
