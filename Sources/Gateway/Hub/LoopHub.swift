import Foundation
import Logging
import NIOCore
import SSEAuth
import SSEProtocol
import Synchronization

/// The streams of one event loop: confined to that loop, so no locks on the fan-out path.
///
/// It registers the streams that open during a tick with one hop to the ``NodeHub``, takes each message the node
/// hub hands it (one hop per message, with one frame per format in use) and writes each stream its format's frame
/// (a copy-on-write `ByteBuffer`, never re-encoded): streams of one topic get a tick's events in one write at the
/// end of the tick (``TickBatch``), streams of several topics each event as it arrives. It also sends heartbeats
/// (one timer per loop), replays history to reconnecting streams and catches up streams after the loop shed events
/// (`LoopHub+Replay.swift`), and drains.
///
/// Its hot stored properties are `@exclusivity(unchecked)`: they are only touched on its event loop, one access at
/// a time, so the dynamic exclusivity checks guard nothing and cost a few percent of the loop on the hot path.
final class LoopHub {
    let index: Int
    let eventLoop: any EventLoop
    let node: NIOLoopBoundBox<NodeHub>
    let history: any HistorySource
    let stats: GatewayStats
    let logger: Logger
    private let heartbeatInterval: TimeAmount
    /// The loop's number of the last live event handed to it (``DeliveryMark/handedThrough``).
    @exclusivity(unchecked) private(set) var sequence: UInt64 = 0
    /// Streams of one topic, by topic, in the order they opened (a closed stream's place takes the last one): the
    /// end-of-tick pass walks these arrays.
    @exclusivity(unchecked) private var singles: [Topic: ContiguousArray<SSEStream>] = [:]
    /// Streams of several topics, by topic.
    @exclusivity(unchecked) private var multiTopic: [Topic: [ObjectIdentifier: SSEStream]] = [:]
    /// Every open stream of the loop (also read by `/sse-health`, ``health(order:top:)``).
    @exclusivity(unchecked) private(set) var streams: [ObjectIdentifier: SSEStream] = [:]
    /// Streams opened during this tick, not yet sent to the node hub to be registered.
    @exclusivity(unchecked) private var pendingJoins: [JoinRequest] = []
    /// Each topic's events of the current tick, for its single-topic streams.
    @exclusivity(unchecked) private var batches: [Topic: TickBatch] = [:]
    /// The batches being written by ``endTick()``, swapped with ``batches`` so that neither table is reallocated
    /// per tick.
    @exclusivity(unchecked) private var writing: [Topic: TickBatch] = [:]
    /// Streams written to since the last flush pass, each once (``SSEStream/flushPending``).
    @exclusivity(unchecked) private var unflushed: [SSEStream] = []
    @exclusivity(unchecked) private var flushScheduled = false
    /// The id times (Redis's milliseconds) of the live reliable events handed to this loop during the tick, counted
    /// into the delivery latency when the tick ends (``DeliveryLatency``); its storage is kept from tick to tick.
    @exclusivity(unchecked) private var publishedMilliseconds: [UInt64] = []
    private var heartbeatTask: RepeatedTask?
    private var drainWaiters: [EventLoopPromise<Void>] = []
    private let heartbeatFrame: ByteBuffer
    /// `event: heartbeat` with empty data (an empty `data:` line makes EventSource dispatch it).
    private let heartbeatEventFrame: ByteBuffer
    /// The opening comment, `: connected to NODE`.
    private let connectedFrame: ByteBuffer
    private let allocator = ByteBufferAllocator()

    init(
        index: Int, eventLoop: any EventLoop, node: NIOLoopBoundBox<NodeHub>, history: any HistorySource,
        nodeID: String, heartbeatInterval: Duration, stats: GatewayStats, logger: Logger
    ) {
        self.index = index
        self.eventLoop = eventLoop
        self.node = node
        self.history = history
        self.stats = stats
        self.logger = logger
        self.heartbeatInterval = TimeAmount(heartbeatInterval)
        var frame = ByteBuffer()
        SSEEncoder.comment("heartbeat", into: &frame)
        self.heartbeatFrame = HTTPChunk.wrap(frame)
        self.heartbeatEventFrame = HTTPChunk.wrap(ByteBuffer(string: "event: heartbeat\ndata:\n\n"))
        var connected = ByteBuffer()
        SSEEncoder.comment("connected to \(nodeID)", into: &connected)
        self.connectedFrame = connected
    }

    /// Starts the loop's heartbeat timer: every tick, streams idle for a whole interval get a heartbeat.
    func start() {
        let tick = TimeAmount.nanoseconds(max(100_000_000, heartbeatInterval.nanoseconds / 4))
        let hub = NIOLoopBound(self, eventLoop: eventLoop)
        heartbeatTask = eventLoop.scheduleRepeatedTask(initialDelay: tick, delay: tick) { _ in
            hub.value.sendHeartbeats()
        }
    }

    func stop() {
        heartbeatTask?.cancel()
        heartbeatTask = nil
    }

    // MARK: Streams opening and closing

    /// Takes a stream that has just been answered: it is registered on the node (the streams that open during one
    /// tick with one hop to the node hub), and once Redis confirms its topics it is sent the opening comment — a
    /// promise to the client that every event published after it arrives — and, with `resume`, the history
    /// after where it stood (``replay(_:from:once:)``).
    ///
    /// A positioned stream (several topics on a Redis Cluster) starts its position with the client's entries and,
    /// for its other topics, the last id the node knows of each when the join completes, so that its first `id:`
    /// line already covers every topic; it parks live frames until then.
    func open(_ stream: SSEStream, resume: StreamResume?) {
        guard stream.isOpen else { return }  // the client left before it was answered
        add(stream)
        let promise = eventLoop.makePromise(of: [Topic: EventID].self)
        pendingJoins.append(JoinRequest(topics: stream.topics, format: stream.format, promise: promise))
        if pendingJoins.count == 1 {
            eventLoop.assumeIsolated().execute { [self] in
                let requests = pendingJoins
                pendingJoins.removeAll()
                let node = self.node
                let index = self.index
                node.eventLoop.execute { node.value.join(requests, loop: index) }
            }
        }
        let connected = connectedFrame
        let joined = promise.futureResult
        joined.assumeIsolated().whenSuccess { known in
            if case .positions(let ids, _) = resume { stream.seedPosition(ids) }
            stream.seedPosition(known)
            // A topic never published yet (no clock): its entry says "nothing of it", so that every event of it is
            // read back after a reconnect (``EventID/nothing``).
            stream.seedPosition(Dictionary(uniqueKeysWithValues: stream.topics.map { ($0, EventID.nothing) }))
            stream.writeControl(connected)
            if resume == nil, stream.format.positioned { stream.finishReplay(history: []) }
        }
        if let resume { replay(stream, from: resume, once: joined.map { _ in () }) }
    }

    private func add(_ stream: SSEStream) {
        let key = ObjectIdentifier(stream)
        streams[key] = stream
        if stream.topics.count == 1 {
            let topic = stream.topics[0]
            stream.slot = singles[topic]?.count ?? 0
            singles[topic, default: []].append(stream)
        } else {
            for topic in stream.topics { multiTopic[topic, default: [:]][key] = stream }
        }
    }

    /// A stream ended (``SSEStream``): off the loop's tables, and off the node with one hop.
    func close(_ stream: SSEStream) {
        let key = ObjectIdentifier(stream)
        guard streams.removeValue(forKey: key) != nil else { return }
        if stream.topics.count == 1 {
            let topic = stream.topics[0]
            let slot = stream.slot
            if let last = singles[topic]?.last, singles[topic]?[slot] === stream {
                singles[topic]![slot] = last
                last.slot = slot
                singles[topic]!.removeLast()
                if singles[topic]!.isEmpty { singles.removeValue(forKey: topic) }
            }
        } else {
            for topic in stream.topics {
                multiTopic[topic]?.removeValue(forKey: key)
                if multiTopic[topic]?.isEmpty == true { multiTopic.removeValue(forKey: topic) }
            }
        }
        let node = self.node
        let (topics, format, index) = (stream.topics, stream.format, self.index)
        node.eventLoop.execute { node.value.leave(topics, loop: index, format: format) }
        if streams.isEmpty {
            for waiter in drainWaiters { waiter.succeed(()) }
            drainWaiters.removeAll()
        }
    }

    /// The number of open streams on this loop.
    var streamCount: Int { streams.count }

    // MARK: Live events

    /// Takes one event for the streams of `topic` on this loop, each in its format. Streams of this one topic get
    /// it at the end of the loop tick, with the topic's other events of the tick, in one write and one flush
    /// (``endTick()``); streams of several topics get it now, written, and flushed at the end of the tick. A stream
    /// whose format has no frame joined after the node hub encoded the message (before its opening comment, so it
    /// was promised nothing) and is skipped.
    ///
    /// A `live` reliable event (relayed as Redis published it, not read back from history by a backfill) is
    /// measured from its id's time to the end of this tick (``DeliveryLatency``): once per loop, whatever the number
    /// of streams.
    func deliver(topic: Topic, frames: StreamFrames, id: EventID?, live: Bool = true) {
        guard singles[topic] != nil || multiTopic[topic] != nil else { return }
        if live, let id { publishedMilliseconds.append(id.milliseconds) }
        sequence &+= 1
        batches[topic, default: TickBatch()].append(frames, id: id, sequence: sequence)
        if let shared = multiTopic[topic] {
            var sent = 0
            for stream in shared.values
            where stream.offer(frames[stream.format], sequence: sequence, id: id, topic: topic) {
                sent += 1
                if !stream.flushPending {
                    stream.flushPending = true
                    unflushed.append(stream)
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
    /// multi-topic streams written to during the tick. This is the "write" of the delivery latency: the tick's live
    /// reliable events are measured here, after the flushes, with one clock read.
    func endTick() {
        flushScheduled = false
        swap(&batches, &writing)
        let now = NIODeadline.now()
        var sent = 0
        for (topic, batch) in writing {
            guard let streams = singles[topic] else { continue }
            var batch = batch
            for stream in streams { sent += stream.take(&batch, now: now, allocator: allocator) }
        }
        writing.removeAll(keepingCapacity: writing.count < 4096)
        if sent > 0 { stats.eventsSent.add(sent, ordering: .relaxed) }
        for stream in unflushed {
            stream.flushPending = false
            stream.flush()
        }
        unflushed.removeAll(keepingCapacity: unflushed.count < 4096)
        if !publishedMilliseconds.isEmpty {
            stats.deliveryLatency.record(
                publishedMilliseconds: publishedMilliseconds, now: DeliveryLatency.nowMicroseconds())
            publishedMilliseconds.removeAll(keepingCapacity: publishedMilliseconds.count < 4096)
        }
    }

    /// Ends the tick now if events are waiting for it (before a notice or a catch-up that must follow them).
    func endTickIfScheduled() {
        if flushScheduled { endTick() }
    }

    // MARK: Notices, ends, heartbeats, drain

    /// Sends a control frame (a resync notice) to every stream of the topics, or of all topics when nil; with
    /// `forgettingIDs` each also forgets its last id (``SSEStream/forgetLastID()``). Returns the streams told.
    @discardableResult
    func broadcast(_ frame: ByteBuffer, topics: Set<Topic>?, forgettingIDs: Bool = false) -> Int {
        endTickIfScheduled()  // the events that arrived before the notice go first
        let targets = topics.map { streams(of: $0) } ?? Array(streams.values)
        for stream in targets {
            stream.writeControl(frame)
            if forgettingIDs { stream.forgetLastID(topics: topics) }
        }
        return targets.count
    }

    /// Finishes, on purpose, every stream that follows `topic` (``SSEStream/end(reason:topics:)``), after the
    /// events that reached this loop before the request. Returns the number of streams ended.
    @discardableResult
    func end(topic: Topic, reason: String) -> Int {
        endTickIfScheduled()
        let targets = streams(of: [topic])
        for stream in targets { stream.end(reason: reason, topics: [topic]) }
        return targets.count
    }

    /// Ends, after the events that reached this loop before it, every stream whose token the revocation covers.
    /// Returns the number of streams ended.
    @discardableResult
    func revoke(_ entry: Revocations.Entry) -> Int {
        endTickIfScheduled()
        let targets = streams.values.filter { stream in
            guard let token = stream.grant?.token else { return false }
            return entry.covers(token, topics: stream.topics)
        }
        for stream in targets { stream.revoke(reason: entry.reason) }
        return targets.count
    }

    /// Ends every stream whose token some revocation of `revocations` covers (after they were loaded from Redis:
    /// one pass over the streams, whatever the number of revocations). Returns the number of streams ended.
    @discardableResult
    func revokeCovered(by revocations: Revocations) -> Int {
        endTickIfScheduled()
        let now = Date()
        var ended = 0
        for stream in Array(streams.values) {
            guard let token = stream.grant?.token,
                let entry = revocations.entry(covering: token, topics: stream.topics, now: now)
            else { continue }
            stream.revoke(reason: entry.reason)
            ended += 1
        }
        return ended
    }

    /// The streams following any of `topics`, each once.
    func streams(of topics: Set<Topic>) -> [SSEStream] {
        var targets: [SSEStream] = []
        var seen = Set<ObjectIdentifier>()
        for topic in topics {
            for stream in singles[topic] ?? [] { targets.append(stream) }
            guard let shared = multiTopic[topic] else { continue }
            for stream in shared.values where seen.insert(ObjectIdentifier(stream)).inserted {
                targets.append(stream)
            }
        }
        return targets
    }

    func sendHeartbeats() {
        let now = NIODeadline.now()
        var sent = 0
        for stream in streams.values
        where stream.heartbeatIfIdle(
            now: now, interval: heartbeatInterval, frame: stream.heartbeatAsEvent ? heartbeatEventFrame : heartbeatFrame
        ) {
            sent += 1
        }
        if sent > 0 { stats.heartbeatsSent.add(sent, ordering: .relaxed) }
    }

    /// Tells every stream to reconnect, spread evenly over `window` in random order, each with a jittered `retry:`;
    /// completes when the last stream has closed.
    func drain(window: TimeAmount, retryMilliseconds: Int) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        if streams.isEmpty {
            promise.succeed(())
            return promise.futureResult
        }
        drainWaiters.append(promise)
        // Stratified random offsets: stream k of n closes at a random moment within the k-th n-th of the window,
        // so closes are even over the window and no two loops close their first stream at the same instant.
        let streams = streams.values.shuffled()
        let step = Double(window.nanoseconds) / Double(streams.count)
        for (position, stream) in streams.enumerated() {
            let delay = TimeAmount.nanoseconds(Int64(step * (Double(position) + Double.random(in: 0..<1))))
            eventLoop.assumeIsolated().scheduleTask(in: delay) {
                var frame = ByteBuffer()
                SSEEncoder.retry(milliseconds: retryMilliseconds + Int.random(in: 0...retryMilliseconds), into: &frame)
                stream.writeControl(frame)
                stream.close(error: false)
            }
        }
        return promise.futureResult
    }
}
