import Foundation
import Logging
import SSEHistory
import SSEProtocol
import Synchronization

/// The optional join/leave events (`SSE_PRESENCE_EVENTS`): a subject's first stream of topic `T` on this node opening
/// publishes `join`, its last closing publishes `leave`, fire-and-forget on the companion topic `T.presence` (not one
/// per stream, and nothing for streams without a token). The data is `{"node":…,"subject":…,"topic":…}`.
///
/// Transitions are queued in the order they happened (``NodePresence`` yields under its lock) and published one at a
/// time by one task, so a follower of `T.presence` sees a subject's join before its leave. The queue holds at most
/// ``capacity`` transitions; while Redis is away the newest beyond that are dropped (counted, logged once).
final class PresenceEvents: Sendable {
    static let capacity = 10_000

    private let history: History
    private let nodeID: String
    private let logger: Logger
    private let stream: AsyncStream<NodePresence.Transition>
    private let continuation: AsyncStream<NodePresence.Transition>.Continuation
    private let dropped = Atomic<Int>(0)
    private let failing = Atomic<Bool>(false)

    init(history: History, nodeID: String, logger: Logger) {
        self.history = history
        self.nodeID = nodeID
        self.logger = logger
        let made = AsyncStream.makeStream(
            of: NodePresence.Transition.self, bufferingPolicy: .bufferingOldest(Self.capacity))
        stream = made.stream
        continuation = made.continuation
    }

    /// Queues a transition; called under ``NodePresence``'s lock.
    func enqueue(_ transition: NodePresence.Transition) {
        guard transition.topic.presenceTopic != nil else { return }
        if case .dropped = continuation.yield(transition) { dropped.add(1, ordering: .relaxed) }
    }

    /// Publishes queued transitions in order until cancelled.
    func run() async {
        await withTaskCancellationHandler {
            for await transition in stream {
                await publish(transition)
            }
        } onCancel: { [continuation] in
            continuation.finish()
        }
    }

    private func publish(_ transition: NodePresence.Transition) async {
        guard let companion = transition.topic.presenceTopic else { return }
        let data = NodeRegistry.jsonText([
            "node": nodeID, "subject": transition.subject, "topic": transition.topic.name,
        ])
        do {
            try await history.publishFireAndForget(
                companion, payload: NodeRegistry.jsonEvent(name: transition.kind.rawValue, data: data))
            if failing.exchange(false, ordering: .relaxed) { logger.info("presence events published again") }
        } catch {
            if !failing.exchange(true, ordering: .relaxed) {
                logger.warning(
                    "cannot publish presence events; they are lost until Redis answers",
                    metadata: ["error": "\(error)", "sse.dropped": "\(dropped.load(ordering: .relaxed))"])
            }
        }
    }
}
