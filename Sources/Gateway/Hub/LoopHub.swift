import Logging
import NIOCore
import SSEProtocol
import Synchronization

/// The streams of one event loop and their topics. Confined to that loop: no locks on the fan-out path.
///
/// The node-level ``Hub`` hops here once per message per loop with the message's frames, one per dialect in use;
/// each subscribed stream then gets its dialect's frame (a copy-on-write `ByteBuffer`, never re-encoded).
///
/// Its hot stored properties are `@exclusivity(unchecked)`: they are only touched on its event loop, one access at
/// a time, so the dynamic exclusivity checks guard nothing and cost a few percent of the loop on the hot path.
final class LoopHub {
    let index: Int
    let eventLoop: any EventLoop
    private let stats: GatewayStats
    private let heartbeatInterval: TimeAmount
    /// Streams of one topic, by topic, in the order they opened (a closed stream's place takes the last one): the
    /// end-of-tick pass walks these arrays.
    @exclusivity(unchecked) private var singles: [Topic: ContiguousArray<SSEConnection>] = [:]
    @exclusivity(unchecked) private var connections: [ObjectIdentifier: SSEConnection] = [:]
    private var heartbeatTask: RepeatedTask?
    private let heartbeatFrame: ByteBuffer
    /// `event: heartbeat` with empty data (an empty `data:` line makes EventSource dispatch it).
    private let heartbeatEventFrame: ByteBuffer
    private var drainWaiters: [EventLoopPromise<Void>] = []
    /// Streams opened during this tick and not yet sent to the hub loop to be registered (``Hub/join(_:loop:dialect:)``).
    @exclusivity(unchecked) var pendingJoins: [JoinRequest] = []
    /// Streams written to since the last flush pass, each once (``SSEConnection/flushPending``), flushed at the end
    /// of the loop tick.
    @exclusivity(unchecked) private var unflushed: [SSEConnection] = []
    @exclusivity(unchecked) private var flushScheduled = false
    /// Each topic's events of the current tick, for its single-topic streams.
    @exclusivity(unchecked) private var batches: [Topic: TickBatch] = [:]
    /// Streams of several topics, by topic.
    @exclusivity(unchecked) private var multiTopic: [Topic: [ObjectIdentifier: SSEConnection]] = [:]
    /// The number of the last event delivered to this loop.
    @exclusivity(unchecked) private var sequence: UInt64 = 0
    private let allocator = ByteBufferAllocator()

    init(index: Int, eventLoop: any EventLoop, stats: GatewayStats, heartbeatInterval: Duration) {
        self.index = index
        self.eventLoop = eventLoop
        self.stats = stats
        self.heartbeatInterval = TimeAmount(heartbeatInterval)
        var frame = ByteBuffer()
        SSEEncoder.comment("heartbeat", into: &frame)
        self.heartbeatFrame = HTTPChunk.wrap(frame)
        self.heartbeatEventFrame = HTTPChunk.wrap(ByteBuffer(string: "event: heartbeat\ndata:\n\n"))
    }

    func start(hub: NIOLoopBound<LoopHub>) {
        // One timer per loop, not per stream: every tick, streams idle for a whole interval get a comment.
        let tick = TimeAmount.nanoseconds(max(100_000_000, heartbeatInterval.nanoseconds / 4))
        heartbeatTask = eventLoop.scheduleRepeatedTask(initialDelay: tick, delay: tick) { _ in
            hub.value.sendHeartbeats()
        }
    }

    func stop() {
        heartbeatTask?.cancel()
        heartbeatTask = nil
    }

    func add(_ connection: SSEConnection) {
        let key = ObjectIdentifier(connection)
        connections[key] = connection
        connection.deliveredThrough = sequence
        if connection.topics.count == 1 {
            let topic = connection.topics[0]
            connection.slot = singles[topic]?.count ?? 0
            singles[topic, default: []].append(connection)
        } else {
            for topic in connection.topics { multiTopic[topic, default: [:]][key] = connection }
        }
    }

    func remove(_ connection: SSEConnection) {
        let key = ObjectIdentifier(connection)
        guard connections.removeValue(forKey: key) != nil else { return }
        if connection.topics.count == 1 {
            let topic = connection.topics[0]
            let slot = connection.slot
            if let last = singles[topic]?.last, singles[topic]?[slot] === connection {
                singles[topic]![slot] = last
                last.slot = slot
                singles[topic]!.removeLast()
                if singles[topic]!.isEmpty { singles.removeValue(forKey: topic) }
            }
        } else {
            for topic in connection.topics {
                multiTopic[topic]?.removeValue(forKey: key)
                if multiTopic[topic]?.isEmpty == true { multiTopic.removeValue(forKey: topic) }
            }
        }
        if connections.isEmpty {
            for waiter in drainWaiters { waiter.succeed(()) }
            drainWaiters.removeAll()
        }
    }

    /// Takes one event for the streams of `topic` on this loop, each in its dialect. Streams of this one topic get
    /// it at the end of the loop tick, with the topic's other events of the tick, in one write and one flush
    /// (``endTick()``); streams of several topics get it now, written, and flushed at the end of the tick. A
    /// stream whose dialect has no frame joined after the hub encoded the message (before its opening comment, so it
    /// was promised nothing) and is skipped, as a stream on a loop the hub did not hop to would be.
    func deliver(topic: Topic, frames: StreamFrames, id: EventID?) {
        guard singles[topic] != nil || multiTopic[topic] != nil else { return }
        sequence &+= 1
        batches[topic, default: TickBatch()].append(frames, id: id, sequence: sequence)
        if let shared = multiTopic[topic] {
            var sent = 0
            for connection in shared.values {
                guard let frame = frames[connection.format], connection.deliver(frame, id: id) else { continue }
                sent += 1
                if !connection.flushPending {
                    connection.flushPending = true
                    unflushed.append(connection)
                }
            }
            stats.eventsSent.add(sent, ordering: .relaxed)
        }
        if !flushScheduled {
            flushScheduled = true
            // Queued behind the deliveries already waiting on this loop, so a burst is written once.
            eventLoop.assumeIsolated().execute { [self] in endTick() }
        }
    }

    /// Writes each topic's batch of the tick to its single-topic streams (one pass over them), then flushes the
    /// multi-topic streams written to during the tick.
    func endTick() {
        flushScheduled = false
        let current = batches
        batches.removeAll()
        let now = NIODeadline.now()
        var sent = 0
        for (topic, batch) in current {
            guard let streams = singles[topic] else { continue }
            var batch = batch
            for connection in streams {
                sent += connection.deliver(&batch, now: now, allocator: allocator)
            }
        }
        if sent > 0 { stats.eventsSent.add(sent, ordering: .relaxed) }
        for connection in unflushed {
            connection.flushPending = false
            connection.flushAndCheck()
        }
        unflushed.removeAll(keepingCapacity: unflushed.count < 4096)
    }

    /// Ends the tick now if events are waiting for it (before a notice or a catch-up that must follow them).
    func endTickIfScheduled() {
        if flushScheduled { endTick() }
    }

    /// Sends a control frame (a resync notice) to every stream of the topics, or of all topics when nil; with
    /// `forgettingIDs` each also forgets its last id (``SSEConnection/forgetLastID()``).
    @discardableResult
    func broadcast(_ frame: ByteBuffer, topics: Set<Topic>?, forgettingIDs: Bool = false) -> Int {
        endTickIfScheduled()  // the events that arrived before the notice go first
        let targets = topics.map { streams(of: $0) } ?? Array(connections.values)
        for connection in targets {
            connection.writeControl(frame)
            if forgettingIDs { connection.forgetLastID() }
        }
        return targets.count
    }

    /// Finishes, on purpose, every stream that follows `topic` (``SSEConnection/end(reason:topics:)``), after the
    /// events that reached this loop before the request. Returns the number of streams ended.
    @discardableResult
    func end(topic: Topic, reason: String) -> Int {
        endTickIfScheduled()
        let targets = streams(of: [topic])
        for connection in targets { connection.end(reason: reason, topics: [topic]) }
        return targets.count
    }

    /// The streams following any of `topics`, each once.
    func streams(of topics: Set<Topic>) -> [SSEConnection] {
        var targets: [SSEConnection] = []
        var seen = Set<ObjectIdentifier>()
        for topic in topics {
            for connection in singles[topic] ?? [] { targets.append(connection) }
            guard let shared = multiTopic[topic] else { continue }
            for connection in shared.values where seen.insert(ObjectIdentifier(connection)).inserted {
                targets.append(connection)
            }
        }
        return targets
    }

    private func sendHeartbeats() {
        let now = NIODeadline.now()
        var sent = 0
        for connection in connections.values
        where connection.heartbeatIfIdle(
            now: now, interval: heartbeatInterval,
            frame: connection.heartbeatAsEvent ? heartbeatEventFrame : heartbeatFrame)
        {
            sent += 1
        }
        if sent > 0 { stats.heartbeatsSent.add(sent, ordering: .relaxed) }
    }

    /// Tells every stream to reconnect, spread evenly over `window` in random order, each with a jittered `retry:`;
    /// completes when the last stream has closed.
    func drain(window: TimeAmount, retryMilliseconds: Int) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        if connections.isEmpty {
            promise.succeed(())
            return promise.futureResult
        }
        drainWaiters.append(promise)
        // Stratified random offsets: stream k of n closes at a random moment within the k-th n-th of the window,
        // so closes are even over the window and no two loops close their first stream at the same instant.
        let streams = connections.values.shuffled()
        let step = Double(window.nanoseconds) / Double(streams.count)
        for (position, connection) in streams.enumerated() {
            let delay = TimeAmount.nanoseconds(Int64(step * (Double(position) + Double.random(in: 0..<1))))
            eventLoop.assumeIsolated().scheduleTask(in: delay) {
                var frame = ByteBuffer()
                SSEEncoder.retry(milliseconds: retryMilliseconds + Int.random(in: 0...retryMilliseconds), into: &frame)
                connection.writeControl(frame)
                connection.close(error: false)
            }
        }
        return promise.futureResult
    }
}
