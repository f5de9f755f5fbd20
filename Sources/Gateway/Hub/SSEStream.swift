import NIOCore
import SSEProtocol
import Synchronization

/// One client's open event stream: the channel handler next to the socket once `GET /sse` is answered (the HTTP
/// decoder, encoder and router leave the pipeline), owning the stream's state. Confined to its channel's loop,
/// whose ``LoopHub`` hands it frames.
///
/// The body is chunked (``HTTPChunk``): event frames arrive already chunked (encoded once per format by the node
/// hub), control bytes are chunked here. How the stream ends tells the client what to do: ``close(error:)`` drops
/// the connection without the last chunk, which a `fetch` reader reports as an error and retries with its last id
/// (a drain, a slow-consumer cut; a crash looks the same), while ``end(reason:topics:)`` finishes the body on
/// purpose with an `end` event and the last chunk, after which clients should not come back.
///
/// While its history is being replayed, live frames are parked and then sent after the replay. Whether a frame is
/// new to the stream is decided by one rule (``DeliveryMark``), and whether the client keeps up by one check
/// (``checkPressure(parkedBytes:)``). The client has nothing more to say: what it sends is dropped unread.
///
/// Its hot stored properties are `@exclusivity(unchecked)`: they are only touched on its event loop, one access at
/// a time, so the dynamic exclusivity checks guard nothing and cost a few percent of the loop on the hot path.
final class SSEStream: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    enum State {
        /// Waiting for history; live frames are parked here with their ids.
        case replaying(parked: [Parked], bytes: Int)
        case live
        case closed
    }

    /// A live frame parked during a replay.
    typealias Parked = (frame: ByteBuffer, id: EventID?, topic: Topic)
    /// A history frame of a replay.
    typealias Replayed = (frame: ByteBuffer, id: EventID, topic: Topic)

    let topics: [Topic]
    /// The wire format the client asked for; the stream is handed its format's frame of every event.
    let format: StreamFormat
    /// Heartbeats as `event: heartbeat` rather than comments (`heartbeat=event`).
    let heartbeatAsEvent: Bool
    /// The loop hub that holds the stream; told when the stream ends.
    let loopHub: LoopHub
    /// Listed in its ``LoopHub``'s streams to flush at the end of this tick (streams of several topics, which are
    /// written each event as it arrives so that events of different topics keep their order).
    @exclusivity(unchecked) var flushPending = false
    /// A stream of one topic: its place in its ``LoopHub``'s array of the topic's streams.
    @exclusivity(unchecked) var slot = 0
    @exclusivity(unchecked) private(set) var position: DeliveryMark
    /// A positioned stream's last id of each topic (``StreamFormat/positioned``: several topics on a Redis
    /// Cluster), written as its `id:` line; nil for every other stream, which keeps one id (``DeliveryMark``).
    @exclusivity(unchecked) private(set) var topicPosition: SSEProtocol.StreamPosition?
    @exclusivity(unchecked) private(set) var state: State
    @exclusivity(unchecked) private(set) var lastWrite = NIODeadline.now()
    let openedAt = NIODeadline.now()
    /// Events written to the stream (live, replayed and caught up), for `/sse-health`.
    @exclusivity(unchecked) private(set) var eventsSent = 0
    /// Set when the handler joins the pipeline; cleared when it leaves (breaking the cycle with the pipeline).
    @exclusivity(unchecked) private var context: ChannelHandlerContext?
    private let maxUnsentBytes: Int
    let stats: GatewayStats
    /// What authorized the stream's private topics (nil for public topics): one reference, so that a public
    /// stream, the common case, pays 8 bytes for it.
    var grant: StreamGrant?
    /// A catch-up was asked for during a replay (``requestCatchUp()``).
    private var replayAgain = false
    private var finishedOnce = false

    init(
        topics: [Topic], format: StreamFormat, heartbeatAsEvent: Bool = false, lastEventID: EventID?,
        loopHub: LoopHub, maxUnsentBytes: Int, stats: GatewayStats, replaying: Bool = false
    ) {
        self.topics = topics
        self.format = format
        self.heartbeatAsEvent = heartbeatAsEvent
        self.loopHub = loopHub
        self.state = lastEventID != nil || replaying ? .replaying(parked: [], bytes: 0) : .live
        self.position = DeliveryMark(handedThrough: loopHub.sequence, lastSentID: format.positioned ? nil : lastEventID)
        if format.positioned { topicPosition = SSEProtocol.StreamPosition() }
        self.maxUnsentBytes = maxUnsentBytes
        self.stats = stats
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func channelInactive(context: ChannelHandlerContext) {
        if isOpen { state = .closed }
        finished()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset or failed read: the stream is over (the close ends it through channelInactive).
        context.close(promise: nil)
    }

    var isOpen: Bool {
        if case .closed = state { return false }
        return true
    }

    /// Waiting for a history read (a reconnect's replay or a catch-up).
    var isReplaying: Bool {
        if case .replaying = state { return true }
        return false
    }

    var lastSentID: EventID? { position.lastSentID }

    /// Where the stream stands, to read on from: its last id, or a positioned stream's entries (nil when it has
    /// none).
    var currentResume: StreamResume? {
        guard let topicPosition else { return lastSentID.map(StreamResume.after) }
        var ids: [Topic: EventID] = [:]
        for topic in topics { ids[topic] = topicPosition.id(of: topic) }
        return ids.isEmpty ? nil : .positions(ids)
    }
    var allocator: ByteBufferAllocator { context?.channel.allocator ?? ByteBufferAllocator() }
    /// The stream's channel while it is in the pipeline (read by `/sse-health`).
    var channel: (any Channel)? { context?.channel }

    // MARK: Live frames

    /// Takes the loop's live event number `sequence` in the stream's format (`frame`, nil when the event has no
    /// frame in it): written (not flushed) when live and new to the stream, parked while replaying. Returns
    /// whether it was written.
    @discardableResult
    func offer(_ frame: ByteBuffer?, sequence: UInt64, id: EventID?, topic: Topic) -> Bool {
        guard position.isNew(sequence: sequence) else { return false }
        position.handedThrough = sequence
        guard let frame else { return false }
        switch state {
        case .live:
            guard write(frame, id: id, topic: topic) else { return false }
            checkPressure()
            return true
        case .replaying(var parked, let bytes):
            state = .closed  // drop the array reference while appending (no copy)
            parked.append((frame, id, topic))
            state = .replaying(parked: parked, bytes: bytes + frame.readableBytes)
            checkPressure(parkedBytes: bytes + frame.readableBytes)
            return false
        case .closed:
            return false
        }
    }

    /// Takes a topic's tick batch: a live stream to which the whole batch is new (the usual case) is written the
    /// batch's joined frames with one write and one flush; otherwise event by event. Returns the events written.
    func take(_ batch: inout TickBatch, now: NIODeadline, allocator: ByteBufferAllocator) -> Int {
        guard position.isNew(sequence: batch.lastSequence) else { return 0 }
        if case .live = state, position.isNew(batch) {
            let joined = batch.joined(format, allocator: allocator)
            if joined.events == batch.count {
                position.handedThrough = batch.lastSequence
                if let last = batch.lastID { position.lastSentID = last }
                eventsSent &+= joined.events
                send(joined.frame, now: now)
                return joined.events
            }
        }
        // Replaying, resumed inside the batch, or a format without some of its frames: event by event.
        var sent = 0
        for index in 0..<batch.count {
            let item = batch[index]
            if offer(item.frames[format], sequence: item.sequence, id: item.id, topic: topics[0]) { sent += 1 }
        }
        if sent > 0 { flush() }
        return sent
    }

    // MARK: Replays

    /// The loop shed events this stream should have had: true when the stream was live and now parks live frames
    /// until ``finishReplay(history:resetLastID:)`` (the caller starts the history read). A stream already replaying
    /// is marked instead: its replay, when it finishes, sends its history but drops what it parked and stays in
    /// replay for one more read (``isReplaying``), since what it parked may lie after the skipped events.
    func requestCatchUp() -> Bool {
        switch state {
        case .live:
            state = .replaying(parked: [], bytes: 0)
            return true
        case .replaying:
            replayAgain = true
            return false
        case .closed:
            return false
        }
    }

    /// Ends the replay: sends the history frames (already in the stream's format), then the parked live frames
    /// new to the stream after them. Returns the number of history frames sent. With `resetLastID` (after a
    /// resync) the client's id is forgotten: it came from data Redis no longer has.
    @discardableResult
    func finishReplay(history: [Replayed], resetLastID: Bool = false) -> Int {
        guard case .replaying(var parked, _) = state else { return 0 }
        state = .live
        if resetLastID {
            forgetLastID()
            replayAgain = false  // the client reloads its state: nothing to resume
        }
        if replayAgain {
            replayAgain = false
            state = .replaying(parked: [], bytes: 0)
            parked = []
        }
        // One buffer for the whole replay: a replay of a thousand events is one write down the pipeline, not two
        // per event (NIO's bookkeeping per buffer, and per-event writes to the socket, cost more than the copy).
        var capacity = 0
        for item in history { capacity += item.frame.readableBytes + 64 }
        for item in parked { capacity += item.frame.readableBytes + 64 }
        var batch: ByteBuffer? = allocator.buffer(capacity: capacity)
        var sent = 0
        for item in history where write(item.frame, id: item.id, topic: item.topic, into: &batch) { sent += 1 }
        var live = 0
        for item in parked where write(item.frame, id: item.id, topic: item.topic, into: &batch) { live += 1 }
        if let batch, batch.readableBytes > 0 { context?.write(NIOAny(batch), promise: nil) }
        flush()
        stats.eventsSent.add(sent + live, ordering: .relaxed)
        return sent
    }

    /// Writes a frame (unflushed) when its id is new to the stream (``DeliveryMark/isNew(id:)``; for a positioned
    /// stream, new to its topic's entry, and then preceded by the stream's `id:` line in the same event block).
    private func write(_ frame: ByteBuffer, id: EventID?, topic: Topic) -> Bool {
        var direct: ByteBuffer?
        return write(frame, id: id, topic: topic, into: &direct)
    }

    /// ``write(_:id:topic:)``, appending to `batch` instead when it is not nil (a replay's one buffer).
    private func write(_ frame: ByteBuffer, id: EventID?, topic: Topic, into batch: inout ByteBuffer?) -> Bool {
        if topicPosition != nil {
            if let id {
                if let last = topicPosition!.id(of: topic), id <= last { return false }
                topicPosition!.advance(topic, to: id)
                // The stream's `id:` line as a chunk of its own in front of the shared frame, in one buffer.
                let line = "id: " + topicPosition!.description + "\n"
                if batch != nil {
                    HTTPChunk.append(line, to: &batch!)
                    batch!.writeImmutableBuffer(frame)
                } else {
                    var single = allocator.buffer(capacity: line.utf8.count + 12 + frame.readableBytes)
                    HTTPChunk.append(line, to: &single)
                    single.writeImmutableBuffer(frame)
                    context?.write(NIOAny(single), promise: nil)
                }
                eventsSent &+= 1
                return true
            }
        } else {
            guard position.isNew(id: id) else { return false }
            if let id { position.lastSentID = id }
        }
        if batch != nil {
            batch!.writeImmutableBuffer(frame)
        } else {
            context?.write(NIOAny(frame), promise: nil)
        }
        eventsSent &+= 1
        return true
    }

    /// Forgets the last id sent: after a `resync` for a data loss, ids come from new data and may be lower. A
    /// positioned stream forgets the entries of `topics` (all when nil).
    func forgetLastID(topics forgotten: Set<Topic>? = nil) {
        position.lastSentID = nil
        guard var topicPosition else { return }
        for topic in topics where forgotten?.contains(topic) ?? true { topicPosition.remove(topic) }
        self.topicPosition = topicPosition
    }

    /// A positioned stream's starting entries: the client's position (for the topics it names) or, for the others,
    /// the last id the node knows of each topic, so that its first `id:` line already says where every topic
    /// stands. Entries already set are kept.
    func seedPosition(_ ids: [Topic: EventID]) {
        guard var topicPosition else { return }
        for topic in topics where topicPosition.id(of: topic) == nil {
            if let id = ids[topic] { topicPosition.advance(topic, to: id) }
        }
        self.topicPosition = topicPosition
    }

    // MARK: Other writes

    /// Writes SSE bytes that are not published events (a comment, `retry:`, a notice) as one chunk.
    func writeControl(_ bytes: ByteBuffer) {
        guard isOpen else { return }
        send(HTTPChunk.wrap(bytes, allocator: allocator))
    }

    /// Sends a heartbeat frame (already chunked) when nothing was written for `interval`.
    func heartbeatIfIdle(now: NIODeadline, interval: TimeAmount, frame: ByteBuffer) -> Bool {
        guard case .live = state, now - lastWrite >= interval else { return false }
        send(frame, now: now)
        return true
    }

    /// Writes and flushes in one pass down the pipeline.
    private func send(_ frame: ByteBuffer, now: NIODeadline = .now()) {
        context?.writeAndFlush(NIOAny(frame), promise: nil)
        lastWrite = now
        checkPressure()
    }

    /// Flushes the frames written by ``offer(_:sequence:id:)``.
    func flush() {
        guard isOpen else { return }
        context?.flush()
        lastWrite = .now()
        checkPressure()
    }

    /// The one slow-consumer check, after every write: a stream whose unsent bytes pass the limit is cut. Unsent
    /// bytes are the channel's (NIO marks it unwritable past the high-water mark, which is the limit; it counts
    /// written-but-unflushed bytes too, so those are flushed first to let the socket take what it can) or, while
    /// replaying, the live frames parked.
    private func checkPressure(parkedBytes: Int = 0) {
        if parkedBytes > maxUnsentBytes { return cutSlowConsumer() }
        guard let context, !context.channel.isWritable else { return }
        context.flush()
        lastWrite = .now()
        if !context.channel.isWritable { cutSlowConsumer() }
    }

    /// The client does not read fast enough: close it. It resumes from history when it reconnects.
    private func cutSlowConsumer() {
        guard isOpen else { return }
        stats.slowConsumerDisconnects.add(1, ordering: .relaxed)
        close(error: true)
    }

    // MARK: Ending

    /// Closes the stream without finishing its body (idempotent), so that the client comes back and resumes with
    /// its last id; `error` counts it in the error rate.
    func close(error: Bool) {
        guard isOpen else { return }
        state = .closed
        if error { stats.streamErrors.add(1, ordering: .relaxed) }
        context?.close(promise: nil)
        finished()
    }

    /// Finishes the stream on purpose: an `end` event naming why and which of its topics ended, then the last
    /// chunk, then the close. A `fetch` reader sees a complete body and stops; an `EventSource` would reconnect,
    /// so pages close it on `end` (engine.js does, htmx's `sse-close="end"` does).
    func end(reason: String, topics ended: [Topic]) {
        guard isOpen else { return }
        stats.endedStreams.add(1, ordering: .relaxed)
        finish(with: StreamEnd.frame(reason: reason, topics: ended))
    }

    /// Sends `event` (SSE bytes), then the last chunk, then closes: a finished body.
    func finish(with event: ByteBuffer) {
        guard isOpen, let context else { return }
        state = .closed
        var frame = HTTPChunk.wrap(event, allocator: allocator)
        frame.writeImmutableBuffer(HTTPChunk.last)
        let channel = context.channel
        // Closed once the bytes are out: a close with writes pending would drop them.
        context.writeAndFlush(NIOAny(frame)).whenComplete { _ in channel.close(promise: nil) }
        finished()
    }

    /// Counts the stream's end and takes it off its loop hub, once.
    private func finished() {
        guard !finishedOnce else { return }
        finishedOnce = true
        grant?.expiry?.cancel()
        grant?.expiry = nil
        let elapsed = NIODeadline.now() - openedAt
        stats.closedDurationMilliseconds.add(Int(elapsed.nanoseconds / 1_000_000), ordering: .relaxed)
        stats.closedConnections.add(1, ordering: .relaxed)
        stats.activeConnections.subtract(1, ordering: .relaxed)
        loopHub.close(self)
    }
}
