import Logging
import NIOCore
import SSEProtocol
import Synchronization

/// Decides, on the hub loop, whether a client loop is handed the next event: a loop more than the limit behind
/// (bytes of frames handed to it and not yet delivered) is handed none until it has worked its backlog down to a
/// quarter of the limit, and then its streams of the skipped topics catch up from history (``onCaughtUp``).
///
/// So a node whose clients cannot take what Redis sends keeps reading its subscription (Redis would otherwise cut it
/// at its pub/sub output limit, costing every stream on the node a `resync`) and holds a bounded backlog.
///
/// Its hot stored properties are `@exclusivity(unchecked)`: they are only touched on its event loop, one access at
/// a time, so the dynamic exclusivity checks guard nothing and cost a few percent of the loop on the hot path.
final class LoopShedding {
    /// A loop that was handed no live events since its backlog passed the limit.
    private struct State {
        /// The topics whose events it was not handed.
        var topics: Set<Topic>
        /// The last reliable id relayed before the first skipped event.
        let after: EventID?
    }

    /// Bytes of frames handed to each loop and not yet delivered there.
    let backlogs: [LoopBacklog]
    /// Called when a loop has caught up, with its index, the skipped topics and the id before the first skipped
    /// event.
    var onCaughtUp: ((Int, Set<Topic>, EventID?) -> Void)?
    private let maxBytes: Int
    private let hubLoop: any EventLoop
    private let stats: GatewayStats
    private let logger: Logger
    @exclusivity(unchecked) private var states: [State?]
    private var check: Scheduled<Void>?

    init(loops: Int, maxBytes: Int, hubLoop: any EventLoop, stats: GatewayStats, logger: Logger) {
        self.backlogs = (0..<loops).map { _ in LoopBacklog() }
        self.maxBytes = maxBytes
        self.hubLoop = hubLoop
        self.stats = stats
        self.logger = logger
        self.states = Array(repeating: nil, count: loops)
    }

    /// Whether loop `index` may be handed an event of `topic` for its `streams` streams now. When not, the event
    /// counts as shed and the topic is remembered for the catch-up; `after` is the last reliable id relayed before
    /// this event.
    func admit(_ topic: Topic, loop index: Int, streams: Int, after: EventID?) -> Bool {
        if states[index] == nil, backlogs[index].bytes.load(ordering: .relaxed) <= maxBytes { return true }
        stats.shedDeliveries.add(streams, ordering: .relaxed)
        if states[index] != nil {
            states[index]!.topics.insert(topic)
            return false
        }
        states[index] = State(topics: [topic], after: after)
        logger.warning(
            "event loop behind: shedding its live events until it catches up, then its streams read them from history",
            metadata: [
                "sse.loop": "\(index)", "sse.backlog_bytes": "\(backlogs[index].bytes.load(ordering: .relaxed))",
                "sse.max_loop_backlog": "\(maxBytes)",
            ])
        scheduleCheck()
        return false
    }

    private func scheduleCheck() {
        guard check == nil else { return }
        check = hubLoop.assumeIsolated().scheduleTask(in: .milliseconds(20)) { [self] in
            check = nil
            endCaughtUp()
        }
    }

    /// Ends the shedding of every loop whose backlog is down to a quarter of the limit.
    private func endCaughtUp() {
        for index in states.indices {
            guard let state = states[index], backlogs[index].bytes.load(ordering: .relaxed) <= maxBytes / 4 else {
                continue
            }
            states[index] = nil
            logger.info(
                "event loop caught up: its streams read what it skipped from history",
                metadata: ["sse.loop": "\(index)", "sse.topics": "\(state.topics.count)"])
            onCaughtUp?(index, state.topics, state.after)
        }
        if states.contains(where: { $0 != nil }) { scheduleCheck() }
    }
}

/// The bytes of event frames handed to one loop and not yet delivered there: added on the hub loop when an event is
/// handed over, subtracted on the loop once it is delivered.
final class LoopBacklog: Sendable {
    let bytes = Atomic<Int>(0)
}

/// A stream asking to be registered on the node (``Hub/join(_:loop:format:)``).
struct JoinRequest {
    let topics: [Topic]
    let format: StreamFormat
    /// Completed on the stream's loop once its topics are subscribed in Redis.
    let promise: EventLoopPromise<Void>
}
