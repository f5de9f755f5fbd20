import Logging
import NIOCore
import SSEAuth
import SSEProtocol
import Synchronization

/// The node's fan-out, wired: one ``NodeHub`` on the hub loop (the Redis subscriber's loop) and one ``LoopHub`` per
/// client loop. It holds no fan-out logic, only the boxes that let each side reach the other on its own loop.
struct Fanout: Sendable {
    let node: NIOLoopBoundBox<NodeHub>
    let loops: [NIOLoopBoundBox<LoopHub>]
    private let loopIndex: [ObjectIdentifier: Int]

    var hubLoop: any EventLoop { node.eventLoop }

    init(
        eventLoops: [any EventLoop], hubLoop: any EventLoop, history: any HistorySource, nodeID: String,
        heartbeatInterval: Duration, maxLoopBacklogBytes: Int, stats: GatewayStats, logger: Logger,
        revocations: Revocations = Revocations(), idsPerTopic: Bool = false
    ) {
        let node = NIOLoopBoundBox.makeBoxSendingValue(
            NodeHub(
                hubLoop: hubLoop, loopCount: eventLoops.count, maxLoopBacklogBytes: maxLoopBacklogBytes, stats: stats,
                history: history, logger: logger, revocations: revocations, idsPerTopic: idsPerTopic),
            eventLoop: hubLoop)
        var indexes: [ObjectIdentifier: Int] = [:]
        self.loops = eventLoops.enumerated().map { index, loop in
            indexes[ObjectIdentifier(loop)] = index
            return NIOLoopBoundBox.makeBoxSendingValue(
                LoopHub(
                    index: index, eventLoop: loop, node: node, history: history, nodeID: nodeID,
                    heartbeatInterval: heartbeatInterval, stats: stats, logger: logger), eventLoop: loop)
        }
        self.node = node
        self.loopIndex = indexes
    }

    /// Binds the node hub to the subscription and starts every loop's heartbeat timer; before any stream opens.
    func start(subscription: any SubscriptionControl) {
        let (node, loops) = (self.node, self.loops)
        node.eventLoop.execute { node.value.start(subscription: subscription, loops: loops) }
        for box in loops { box.eventLoop.execute { box.value.start() } }
    }

    func stop() {
        for box in loops { box.eventLoop.execute { box.value.stop() } }
    }

    /// The loop hub of `eventLoop`; call on that loop.
    func loopHub(on eventLoop: any EventLoop) -> LoopHub {
        loops[loopIndex[ObjectIdentifier(eventLoop)]!].value
    }

    /// Drains every loop; completes when all streams are closed.
    func drain(window: Duration, retryMilliseconds: Int) -> EventLoopFuture<Void> {
        let amount = TimeAmount(window)
        let futures = loops.map { box in
            box.eventLoop.flatSubmit { box.value.drain(window: amount, retryMilliseconds: retryMilliseconds) }
        }
        return EventLoopFuture.andAllComplete(futures, on: hubLoop)
    }
}
