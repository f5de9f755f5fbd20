import Logging
import NIOCore
import SSEProtocol
import Synchronization

/// Which client loops the node hub hands live events to, by their backlog: a loop more than the limit behind (bytes
/// of frames handed to it and not yet delivered there) is handed none until it has worked its backlog down to a
/// quarter of the limit; then its streams of the skipped topics catch up from history.
///
/// So a node whose clients cannot take what Redis sends keeps reading its subscription (Redis would otherwise cut it
/// at its pub/sub output limit, costing every stream on the node a `resync`) and holds a bounded backlog. Part of
/// the ``NodeHub``'s state: the counters are added to by the hub loop when it relays frames to a loop and
/// subtracted by the client loop's task that delivers them (``NodeHub/handOver()``).
struct Shedding {
    /// What a loop was not handed since its backlog passed the limit.
    struct Skipped: Equatable {
        /// The topics whose events it was not handed.
        var topics: Set<Topic>
        /// The last reliable id relayed before the first skipped event.
        let after: EventID?
        /// Per topic: the last id relayed of the topic before its first skipped event (where a catch-up reads on
        /// from when ids are per topic).
        var afterByTopic: [Topic: EventID] = [:]
    }

    enum Verdict: Equatable {
        case deliver
        /// Not handed: the loop was already shedding.
        case shed
        /// Not handed, and the loop starts shedding with this event (worth a log line).
        case startedShedding(backlogBytes: Int)
    }

    let maxBytes: Int
    let backlogs: [LoopBacklog]
    private(set) var skipped: [Skipped?]
    /// A check for loops that caught up is scheduled on the hub loop.
    var checkScheduled = false

    init(loops: Int, maxBytes: Int) {
        self.maxBytes = maxBytes
        self.backlogs = (0..<loops).map { _ in LoopBacklog() }
        self.skipped = Array(repeating: nil, count: loops)
    }

    var isShedding: Bool { skipped.contains { $0 != nil } }

    /// Whether `loop` may be handed an event of `topic` now; when not, the topic is remembered for the catch-up.
    /// `after` is the last reliable id relayed before this event.
    mutating func admit(_ topic: Topic, loop: Int, after: EventID?) -> Verdict {
        let backlog = backlogs[loop].bytes.load(ordering: .relaxed)
        if skipped[loop] == nil, backlog <= maxBytes { return .deliver }
        if skipped[loop] != nil {
            if skipped[loop]!.topics.insert(topic).inserted, let after { skipped[loop]!.afterByTopic[topic] = after }
            return .shed
        }
        skipped[loop] = Skipped(topics: [topic], after: after, afterByTopic: after.map { [topic: $0] } ?? [:])
        return .startedShedding(backlogBytes: backlog)
    }

    /// Counts `bytes` as relayed to `loop`; its ``LoopBacklog`` is told when they are delivered.
    func count(_ bytes: Int, relayedTo loop: Int) {
        backlogs[loop].bytes.add(bytes, ordering: .relaxed)
    }

    /// Ends the shedding of every loop whose backlog is down to a quarter of the limit: those loops and what they
    /// skipped.
    mutating func caughtUp() -> [(loop: Int, skipped: Skipped)] {
        var done: [(loop: Int, skipped: Skipped)] = []
        for loop in skipped.indices {
            guard let state = skipped[loop], backlogs[loop].bytes.load(ordering: .relaxed) <= maxBytes / 4 else {
                continue
            }
            skipped[loop] = nil
            done.append((loop, state))
        }
        return done
    }
}

/// The bytes of event frames handed to one loop and not yet delivered there.
final class LoopBacklog: Sendable {
    let bytes = Atomic<Int>(0)

    func delivered(_ count: Int) {
        bytes.subtract(count, ordering: .relaxed)
    }
}

extension NodeHub {
    /// ``Shedding/admit(_:loop:after:)`` with its bookkeeping: shed deliveries counted, a log line when a loop
    /// starts shedding, and the check for loops that caught up scheduled.
    func admit(_ topic: Topic, loop: Int, streams: Int, after: EventID?) -> Bool {
        let verdict = shedding.admit(topic, loop: loop, after: after)
        if verdict == .deliver { return true }
        stats.shedDeliveries.add(streams, ordering: .relaxed)
        if case .startedShedding(let backlog) = verdict {
            logger.warning(
                "event loop behind: shedding its live events until it catches up, then its streams read them from history",
                metadata: [
                    "sse.loop": "\(loop)", "sse.backlog_bytes": "\(backlog)",
                    "sse.max_loop_backlog": "\(shedding.maxBytes)",
                ])
            scheduleSheddingCheck()
        }
        return false
    }

    private func scheduleSheddingCheck() {
        guard !shedding.checkScheduled else { return }
        shedding.checkScheduled = true
        hubLoop.assumeIsolated().scheduleTask(in: .milliseconds(20)) { [self] in
            shedding.checkScheduled = false
            handOver()
            for (loop, skipped) in shedding.caughtUp() {
                logger.info(
                    "event loop caught up: its streams read what it skipped from history",
                    metadata: ["sse.loop": "\(loop)", "sse.topics": "\(skipped.topics.count)"])
                let box = loops[loop]
                // Queued behind the deliveries already handed to the loop, so they go out first.
                let after = idsPerTopic ? nil : skipped.after
                box.eventLoop.execute {
                    box.value.catchUp(topics: skipped.topics, after: after, afterByTopic: skipped.afterByTopic)
                }
            }
            if shedding.isShedding { scheduleSheddingCheck() }
        }
    }
}
