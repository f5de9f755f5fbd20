import Logging
import RedisClient
import SSEHistory
import SSEProtocol
import Synchronization

/// Checks, once a second, that the events Redis acknowledged to this publisher survived a failover, so one the old
/// primary lost before any gateway node saw it is told to its topic's streams (``AcknowledgedEvents``).
///
/// Every reliable publish of the service (the board's renders and notices, `POST /publish`) records its topic's
/// newest id and the connection that answered. A round checks only the topics whose connection has closed or whose
/// server changed since: with a steady connection it sends nothing. A check runs `sse_confirm` on the topic's
/// current primary; a lost id is marked there with a `resync` event (reason `events-lost`) in the topic's history
/// and on its channel, once per lost id. Logged as a warning per topic; counted in `GET /metrics` as
/// `sse_publisher_lost_events_total`.
///
/// A round is bounded by three Redis timeouts (a frozen primary); while one is still waiting the next is skipped, so
/// rounds never pile up. The check is idempotent: a round cut short is simply run again.
struct AcknowledgementWatch: Sendable {
    let redis: PublisherRedis
    let acknowledged: AcknowledgedEvents
    let historyLength: Int
    let timeout: Duration
    let logger: Logger
    /// Pause between two rounds.
    var interval: Duration = .seconds(1)

    /// Runs until the task is cancelled.
    func run() async {
        let busy = RoundInFlight()
        var failures = 0
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            // A round still waiting on a frozen primary: skip this one rather than pile up.
            guard busy.flag.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
            else { continue }
            let round = Task {
                defer { busy.flag.store(false, ordering: .releasing) }
                try await self.round()
            }
            do {
                _ = try await withDeadline(
                    timeout * 3, doing: "the check of acknowledged events", address: redis.address
                ) {
                    try await round.value
                }
                failures = 0
            } catch {
                failures += 1
                if failures == 1 || failures % 10 == 0 {
                    logger.warning(
                        "cannot check acknowledged events after a reconnect",
                        metadata: ["error": "\(error)", "sse.attempts": "\(failures)"])
                }
            }
        }
    }

    /// One round; logs each topic found lost and answers them.
    @discardableResult
    func round() async throws -> [(Topic, EventID)] {
        var history: History
        switch redis {
        case .single(let client): history = History(runner: client)
        case .cluster(let cluster): history = History(cluster: cluster)
        }
        history.acknowledged = acknowledged
        let lost = try await history.confirmAcknowledged(maxLength: historyLength)
        for (topic, id) in lost {
            logger.warning(
                "an acknowledged event was lost in a Redis failover: its topic's streams are told to resync",
                metadata: ["sse.topic": "\(topic)", "sse.event_id": "\(id)"])
        }
        return lost
    }
}

/// Whether a round of ``AcknowledgementWatch`` is still running (one may outlast its deadline).
private final class RoundInFlight: Sendable {
    let flag = Atomic(false)
}
