import Logging
import NIOCore
import SSEProtocol
import Synchronization

/// One client's open event stream. Confined to its channel's event loop; the loop's ``LoopHub`` writes to it.
///
/// The body is chunked (``HTTPChunk``): event frames arrive already chunked (encoded once per format by the hub),
/// control bytes are chunked here. How the stream ends tells the client what to do: ``close(error:)`` drops the
/// connection without the last chunk, which a `fetch` reader reports as an error and retries with its last id
/// (a drain, a slow-consumer cut; a crash looks the same), while ``end(reason:topics:)`` finishes the body on
/// purpose with an `end` event and the last chunk, after which clients should not come back.
///
/// While its history is being replayed, live events are held back and then sent after the replay, skipping any the
/// replay already carried. Reliable event ids sent on one stream strictly increase, so a duplicate is never sent.
///
/// Its hot stored properties are `@exclusivity(unchecked)`: they are only touched on its event loop, one access at
/// a time, so the dynamic exclusivity checks guard nothing and cost a few percent of the loop on the hot path.
final class SSEConnection {
    enum State {
        /// Waiting for history; live frames are parked here with their ids.
        case replaying(parked: [(frame: ByteBuffer, id: EventID?)], bytes: Int)
        case live
        case closed
    }

    let context: ChannelHandlerContext
    let topics: [Topic]
    /// The wire format the client asked for; the hub hands each stream its format's frame of every event.
    let format: StreamFormat
    /// Heartbeats as `event: heartbeat` rather than comments (`heartbeat=event`).
    let heartbeatAsEvent: Bool
    /// Listed in its ``LoopHub``'s streams to flush at the end of this tick; keeps a stream that receives many
    /// events in one tick from being listed (and flushed) once per event. Used by streams of several topics, which
    /// get each event as it arrives (so events of different topics keep their order).
    @exclusivity(unchecked) var flushPending = false
    /// The loop's delivery number of the last event this stream was handed (written, parked or skipped): a stream
    /// of one topic gets the events of a ``TickBatch`` after this number, so a stream that opened during the tick
    /// gets only the events that arrived after it, and a stream that parked events in its replay is not sent them
    /// again.
    @exclusivity(unchecked) var deliveredThrough: UInt64 = 0
    /// A stream of one topic: its place in its ``LoopHub``'s array of the topic's streams.
    @exclusivity(unchecked) var slot = 0
    let openedAt = NIODeadline.now()
    @exclusivity(unchecked) private(set) var lastWrite = NIODeadline.now()
    @exclusivity(unchecked) private(set) var state: State
    /// The highest reliable id sent on this stream.
    @exclusivity(unchecked) private(set) var lastSentID: EventID?
    private let maxUnsentBytes: Int
    private let stats: GatewayStats
    /// A catch-up was asked for during a replay (``requestCatchUp()``).
    private var replayAgain = false
    /// Called once when the stream ends, with whether it ended in an error.
    var onClose: ((SSEConnection) -> Void)?

    init(
        context: ChannelHandlerContext, topics: [Topic], format: StreamFormat, heartbeatAsEvent: Bool = false,
        replaying: Bool,
        lastEventID: EventID?, maxUnsentBytes: Int, stats: GatewayStats
    ) {
        self.context = context
        self.topics = topics
        self.format = format
        self.heartbeatAsEvent = heartbeatAsEvent
        self.state = replaying ? .replaying(parked: [], bytes: 0) : .live
        self.lastSentID = lastEventID
        self.maxUnsentBytes = maxUnsentBytes
        self.stats = stats
    }

    var isOpen: Bool {
        if case .closed = state { return false }
        return true
    }

    /// Sends a live frame (or parks it during replay). Returns whether a frame was written.
    ///
    /// The frame is written but not flushed: the loop's ``LoopHub`` flushes every stream it wrote to once, after
    /// the burst of messages that arrived in the same loop tick, so a burst costs one syscall per client.
    @discardableResult
    func deliver(_ frame: ByteBuffer, id: EventID?) -> Bool {
        switch state {
        case .live:
            if let id {
                if let last = lastSentID, id <= last { return false }
                lastSentID = id
            }
            context.write(NIOAny(frame), promise: nil)
            // NIO counts written-but-unflushed bytes too: past the high water mark, flush now; if the socket
            // still cannot take enough, the client is too slow.
            if !context.channel.isWritable {
                context.flush()
                lastWrite = .now()
                if !context.channel.isWritable { cutSlowConsumer() }
            }
            return true
        case .replaying(var parked, let bytes):
            let total = bytes + frame.readableBytes
            if total > maxUnsentBytes {
                cutSlowConsumer()
                return false
            }
            state = .closed  // drop the array reference while appending (no copy)
            parked.append((frame, id))
            state = .replaying(parked: parked, bytes: total)
            return false
        case .closed:
            return false
        }
    }

    /// Sends the events of a topic's tick batch that this stream has not been handed: a live stream that has had
    /// none of them (the usual case) gets the batch's joined frames with one write and one flush. Returns the number
    /// of events written.
    func deliver(_ batch: inout TickBatch, now: NIODeadline, allocator: ByteBufferAllocator) -> Int {
        guard deliveredThrough < batch.lastSequence else { return 0 }
        let hasSomeOfBatch = batch.firstID.map { first in lastSentID.map { $0 >= first } ?? false } ?? false
        if case .live = state, deliveredThrough < batch.firstSequence, !hasSomeOfBatch {
            let joined = batch.joined(format, allocator: allocator)
            if joined.events == batch.items.count {
                deliveredThrough = batch.lastSequence
                if let last = batch.lastID { lastSentID = last }
                send(joined.frame, now: now)
                return joined.events
            }
        }
        // Replaying, resumed inside the batch, or a format without some of its frames: event by event.
        var sent = 0
        for item in batch.items where item.sequence > deliveredThrough {
            deliveredThrough = item.sequence
            if let frame = item.frames[format], deliver(frame, id: item.id) { sent += 1 }
        }
        if sent > 0 { flushAndCheck() }
        return sent
    }

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

    /// Waiting for a history read (a reconnect's replay or a catch-up).
    var isReplaying: Bool {
        if case .replaying = state { return true }
        return false
    }

    /// Ends the replay: sends the history frames (already in the stream's dialect), then the parked live frames
    /// newer than what was sent. Returns the number of history frames sent.
    /// With `resetLastID` (after a resync) the client's id is forgotten: it came from data Redis no longer has.
    @discardableResult
    func finishReplay(history: [(frame: ByteBuffer, id: EventID)], resetLastID: Bool = false) -> Int {
        guard case .replaying(var parked, _) = state else { return 0 }
        state = .live
        if resetLastID {
            lastSentID = nil
            replayAgain = false  // the client reloads its state: nothing to resume
        }
        if replayAgain {
            replayAgain = false
            state = .replaying(parked: [], bytes: 0)
            parked = []
        }
        var sent = 0
        for item in history where lastSentID.map({ item.id > $0 }) ?? true {
            lastSentID = item.id
            context.write(NIOAny(item.frame), promise: nil)
            sent += 1
        }
        var live = 0
        for item in parked {
            if let id = item.id {
                if let last = lastSentID, id <= last { continue }
                lastSentID = id
            }
            context.write(NIOAny(item.frame), promise: nil)
            live += 1
        }
        flushAndCheck()
        stats.eventsSent.add(sent + live, ordering: .relaxed)
        return sent
    }

    /// Forgets the last id sent: after a `resync` for a data loss, ids come from new data and may be lower.
    func forgetLastID() {
        lastSentID = nil
    }

    /// Writes SSE bytes that are not published events (a comment, `retry:`, a resync notice) as one chunk.
    func writeControl(_ bytes: ByteBuffer) {
        guard isOpen else { return }
        send(HTTPChunk.wrap(bytes, allocator: context.channel.allocator))
    }

    /// Sends a heartbeat frame (already chunked) when nothing was written for `interval`.
    func heartbeatIfIdle(now: NIODeadline, interval: TimeAmount, frame: ByteBuffer) -> Bool {
        guard case .live = state, now - lastWrite >= interval else { return false }
        send(frame, now: now)
        return true
    }

    /// Writes and flushes in one pass down the pipeline.
    private func send(_ frame: ByteBuffer, now: NIODeadline = .now()) {
        context.writeAndFlush(NIOAny(frame), promise: nil)
        lastWrite = now
        // Past the high water mark (the byte limit, counting what the socket did not take): too slow.
        if !context.channel.isWritable { cutSlowConsumer() }
    }

    /// Flushes frames written by ``deliver(_:id:)``.
    func flushAndCheck() {
        guard isOpen else { return }
        context.flush()
        lastWrite = .now()
        // NIO marks the channel unwritable once more than the high water mark (the byte limit) is queued.
        if !context.channel.isWritable { cutSlowConsumer() }
    }

    /// The client does not read fast enough: close it. It resumes from history when it reconnects.
    func cutSlowConsumer() {
        guard isOpen else { return }
        stats.slowConsumerDisconnects.add(1, ordering: .relaxed)
        close(error: true)
    }

    /// Closes the stream without finishing its body (idempotent), so that the client comes back and resumes with
    /// its last id; `error` counts it in the error rate.
    func close(error: Bool) {
        guard isOpen else { return }
        state = .closed
        if error { stats.streamErrors.add(1, ordering: .relaxed) }
        context.close(promise: nil)
        finished()
    }

    /// Finishes the stream on purpose: an `end` event naming why and which of its topics ended, then the last
    /// chunk, then the close. A `fetch` reader sees a complete body and stops; an `EventSource` would reconnect,
    /// so pages close it on `end` (engine.js does, htmx's `sse-close="end"` does).
    func end(reason: String, topics ended: [Topic]) {
        guard isOpen else { return }
        state = .closed
        stats.endedStreams.add(1, ordering: .relaxed)
        let allocator = context.channel.allocator
        var frame = HTTPChunk.wrap(StreamEnd.frame(reason: reason, topics: ended), allocator: allocator)
        frame.writeImmutableBuffer(HTTPChunk.last)
        let channel = context.channel
        // Closed once the bytes are out: a close with writes pending would drop them.
        context.writeAndFlush(NIOAny(frame)).whenComplete { _ in channel.close(promise: nil) }
        finished()
    }

    /// The channel went away (client closed, or after `close`).
    func channelClosed() {
        if isOpen { state = .closed }
        finished()
    }

    private var finishedOnce = false
    private func finished() {
        guard !finishedOnce else { return }
        finishedOnce = true
        let elapsed = NIODeadline.now() - openedAt
        stats.closedDurationMilliseconds.add(Int(elapsed.nanoseconds / 1_000_000), ordering: .relaxed)
        stats.closedConnections.add(1, ordering: .relaxed)
        stats.activeConnections.subtract(1, ordering: .relaxed)
        onClose?(self)
        onClose = nil
    }
}
