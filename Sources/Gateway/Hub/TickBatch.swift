import NIOCore
import SSEProtocol

/// The events one topic received on one loop during the current loop tick, in arrival order.
///
/// At the end of the tick the loop's ``LoopHub`` hands the batch to each of the topic's single-topic streams, which
/// write it with one write and one flush: the frames of a format are joined once per batch, not once per stream.
struct TickBatch {
    struct Item {
        let frames: StreamFrames
        let id: EventID?
        /// The loop's delivery number of the event (see ``DeliveryMark/handedThrough``).
        let sequence: UInt64
    }

    /// One format's frames of the whole batch in one buffer, and how many events they are.
    struct Joined {
        let frame: ByteBuffer
        let events: Int
    }

    /// The first event is held inline, so a topic with one event in a tick (the usual case when events are spread
    /// over many topics) costs no array; the rest follow in ``more``.
    private var first: Item?
    private var more: [Item] = []
    /// The first and the last reliable id in the batch (ids of one topic arrive in increasing order).
    private(set) var firstID: EventID?
    private(set) var lastID: EventID?
    private var joined: [Joined?] = []

    /// The loop's numbers of the first and the last event (stored: every stream of the topic reads them).
    private(set) var firstSequence: UInt64 = 0
    private(set) var lastSequence: UInt64 = 0

    var count: Int { first == nil ? 0 : 1 + more.count }

    /// The events in arrival order.
    subscript(index: Int) -> Item { index == 0 ? first! : more[index - 1] }

    mutating func append(_ frames: StreamFrames, id: EventID?, sequence: UInt64) {
        let item = Item(frames: frames, id: id, sequence: sequence)
        if first == nil {
            first = item
            firstSequence = sequence
        } else {
            more.append(item)
        }
        lastSequence = sequence
        if let id {
            if firstID == nil { firstID = id }
            lastID = id
        }
    }

    /// The batch's frames in `format`, joined (the event's own frame when the batch holds one event). Events with
    /// no frame in the format are left out and not counted. Each frame is a whole chunk, so the joined frames are
    /// a valid run of chunks.
    mutating func joined(_ format: StreamFormat, allocator: ByteBufferAllocator) -> Joined {
        guard let first else { return Joined(frame: ByteBuffer(), events: 0) }
        if more.isEmpty {
            guard let frame = first.frames[format] else { return Joined(frame: ByteBuffer(), events: 0) }
            return Joined(frame: frame, events: 1)
        }
        if joined.isEmpty { joined = Array(repeating: nil, count: StreamFormat.count) }
        if let cached = joined[format.slot] { return cached }
        var size = first.frames[format]?.readableBytes ?? 0
        for item in more { size += item.frames[format]?.readableBytes ?? 0 }
        var buffer = allocator.buffer(capacity: size)
        var events = 0
        for index in 0..<count {
            guard let frame = self[index].frames[format] else { continue }
            buffer.writeImmutableBuffer(frame)
            events += 1
        }
        let result = Joined(frame: buffer, events: events)
        joined[format.slot] = result
        return result
    }
}
