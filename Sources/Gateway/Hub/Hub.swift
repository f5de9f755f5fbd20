import Logging
import NIOCore
import RedisClient
import SSEProtocol

/// The node's fan-out: one Redis subscription per topic with local streams, one hop per loop per message.
///
/// Node-level state (which topics are subscribed, on which loops they have streams, the last reliable id relayed)
/// lives on the subscriber's event loop, where Redis messages arrive. Each loop's streams live in its ``LoopHub``.
public final class Hub: Sendable {
    let loops: [NIOLoopBoundBox<LoopHub>]
    private let loopIndex: [ObjectIdentifier: Int]
    let hubLoop: any EventLoop
    let registry: NIOLoopBoundBox<TopicRegistry>
    let stats: GatewayStats
    let logger: Logger
    /// History reads for replays (``replay(_:topics:after:once:)``).
    let history: HistoryReader

    init(
        eventLoops: [any EventLoop], hubLoop: any EventLoop, stats: GatewayStats,
        configuration: GatewayConfiguration, history: HistoryReader, logger: Logger
    ) {
        var boxes: [NIOLoopBoundBox<LoopHub>] = []
        var indexes: [ObjectIdentifier: Int] = [:]
        for (index, loop) in eventLoops.enumerated() {
            let hub = LoopHub(
                index: index, eventLoop: loop, stats: stats, heartbeatInterval: configuration.heartbeatInterval)
            boxes.append(NIOLoopBoundBox.makeBoxSendingValue(hub, eventLoop: loop))
            indexes[ObjectIdentifier(loop)] = index
        }
        self.loops = boxes
        self.loopIndex = indexes
        self.hubLoop = hubLoop
        self.stats = stats
        self.logger = logger
        self.history = history
        let shedding = LoopShedding(
            loops: boxes.count, maxBytes: configuration.maxLoopBacklogBytes, hubLoop: hubLoop, stats: stats,
            logger: logger)
        let registry = TopicRegistry(
            loops: boxes, shedding: shedding, hubLoop: hubLoop, stats: stats, history: history, logger: logger)
        self.registry = NIOLoopBoundBox.makeBoxSendingValue(registry, eventLoop: hubLoop)
    }

    /// Binds the registry to the Redis subscriber and starts every loop's heartbeat timer.
    func start(subscriber: RedisSubscriber) {
        let registry = self.registry
        // Every node follows the control channel for as long as it runs (the subscriber renews it on reconnects).
        _ = subscriber.requestFuture(.subscribe, [ControlMessage.channel])
        hubLoop.execute { [self] in
            registry.value.subscriber = subscriber
            registry.value.shedding.onCaughtUp = { [unowned self] index, topics, after in
                catchUp(loop: index, topics: topics, after: after)
            }
        }
        for box in loops {
            box.eventLoop.execute {
                box.value.start(hub: NIOLoopBound(box.value, eventLoop: box.eventLoop))
            }
        }
    }

    func stop() {
        for box in loops { box.eventLoop.execute { box.value.stop() } }
    }

    /// The ``LoopHub`` of a channel's loop; call on that loop.
    func loopHub(for eventLoop: any EventLoop) -> LoopHub {
        loops[loopIndex[ObjectIdentifier(eventLoop)]!].value
    }

    /// Registers a stream's topics and format on the node; call on the stream's loop. The returned future (on
    /// that loop) completes once Redis confirms the subscriptions. The streams that open on a loop during one tick
    /// are registered with one hop to the hub loop, and released with one hop back.
    func join(_ topics: [Topic], loop: Int, format: StreamFormat) -> EventLoopFuture<Void> {
        let box = loops[loop]
        let promise = box.eventLoop.makePromise(of: Void.self)
        let loopHub = box.value
        loopHub.pendingJoins.append(JoinRequest(topics: topics, format: format, promise: promise))
        if loopHub.pendingJoins.count == 1 {
            let registry = self.registry
            let hubLoop = self.hubLoop
            box.eventLoop.assumeIsolated().execute {
                let requests = box.value.pendingJoins
                box.value.pendingJoins.removeAll()
                hubLoop.execute { registry.value.join(requests, loop: loop) }
            }
        }
        return promise.futureResult
    }

    func leave(_ topics: [Topic], loop: Int, format: StreamFormat) {
        let registry = self.registry
        hubLoop.execute { registry.value.leave(topics, loop: loop, format: format) }
    }

    /// Called for every subscriber event, on the hub loop.
    func handle(_ event: RedisSubscriber.Event) {
        registry.value.handle(event)
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
