import NIOCore
import SSEProtocol

/// One event's frames as they go on the wire, for each stream format a topic's streams use: encoded in each
/// dialect once (``DialectFrames``), tagged with the topic where a format asks for it, and each frame one HTTP chunk
/// (``HTTPChunk``). What the hub hands to every event loop for one message; every stream of a format is written the
/// same copy-on-write buffer.
struct StreamFrames: Sendable {
    /// The frame of the default format (engine, untagged, unpositioned): held inline, so the hot path (every stream of
    /// the topic in that format) allocates no table.
    private var plain: ByteBuffer?
    /// The other formats' frames by ``StreamFormat/slot`` (slot 0 unused); empty when only the default is in use.
    private var frames: [ByteBuffer?] = []
    /// The dialects whose frames were encoded (for the `dialect_encodes` metric).
    private(set) var encoded: DialectSet
    /// The bytes of the distinct frames held (what holding these frames costs a loop's backlog).
    private(set) var bytes = 0

    init(encoding event: ServerSentEvent, topic: Topic, for formats: FormatSet, allocator: ByteBufferAllocator) {
        encoded = []
        if formats == Self.plainOnly {
            // The hot path (every stream of the topic takes plain engine frames): the event is encoded straight into
            // its chunk, with no parse and no copy.
            let chunk = HTTPChunk.encode(capacity: event.data.readableBytes + 64, allocator: allocator) {
                SSEEncoder.event(event, into: &$0)
            }
            encoded = .engine
            plain = chunk
            bytes = chunk.readableBytes
            return
        }
        var encodedDialects: DialectSet = []
        for positioned in [false, true] {
            let wanted = FormatSet(
                rawValue: formats.rawValue & (positioned ? Self.positionedMask : ~Self.positionedMask))
            guard !wanted.isEmpty else { continue }
            // Positioned streams write their own `id:` line: their frames carry none.
            var source = event
            if positioned { source.id = nil }
            let dialectFrames = DialectFrames(encoding: source, for: wanted.dialects, allocator: allocator)
            encodedDialects.formUnion(dialectFrames.encoded)
            add(dialectFrames, for: wanted, positioned: positioned, topic: topic, allocator: allocator)
        }
        encoded = encodedDialects
    }

    /// Chunks `dialectFrames` for each format of `formats` (all positioned or all not).
    private mutating func add(
        _ dialectFrames: DialectFrames, for formats: FormatSet, positioned: Bool, topic: Topic,
        allocator: ByteBufferAllocator
    ) {
        // A plain event is one frame shared by every dialect: chunk it once per tagging, not once per dialect.
        // (Per message on the fan-out path: no collection is built here besides the frames array.)
        let shared = dialectFrames.encoded == .engine
        var sharedPlain: ByteBuffer?
        var sharedTagged: ByteBuffer?
        for tagged in [false, true] {
            for dialect in Dialect.allCases {
                let format = StreamFormat(dialect: dialect, tagged: tagged, positioned: positioned)
                guard formats.contains(format), let frame = dialectFrames[dialect] else { continue }
                if shared, let chunk = tagged ? sharedTagged : sharedPlain {
                    set(chunk, for: format)
                    continue
                }
                let chunk = Self.chunk(frame, topic: tagged ? topic : nil, allocator: allocator)
                if shared {
                    if tagged { sharedTagged = chunk } else { sharedPlain = chunk }
                }
                set(chunk, for: format)
                bytes += chunk.readableBytes
            }
        }
    }

    /// The positioned formats' bits of a ``FormatSet``.
    private static let positionedMask: UInt16 = {
        var mask: UInt16 = 0
        for dialect in Dialect.allCases {
            for tagged in [false, true] {
                mask |= FormatSet(StreamFormat(dialect: dialect, tagged: tagged, positioned: true)).rawValue
            }
        }
        return mask
    }()

    /// The formats of a topic whose streams all use engine.js's plain frames without tags.
    private static let plainOnly = FormatSet(StreamFormat())

    /// The frame for a format; nil when the format was not in use when the message was encoded.
    subscript(format: StreamFormat) -> ByteBuffer? {
        let slot = format.slot
        if slot == 0 { return plain }
        return frames.isEmpty ? nil : frames[slot]
    }

    private mutating func set(_ chunk: ByteBuffer, for format: StreamFormat) {
        let slot = format.slot
        if slot == 0 {
            plain = chunk
            return
        }
        if frames.isEmpty { frames = Array(repeating: nil, count: StreamFormat.count) }
        frames[slot] = chunk
    }

    /// An encoded event's bytes as one chunk, tagged with `topic` when given.
    static func chunk(_ frame: ByteBuffer, topic: Topic?, allocator: ByteBufferAllocator) -> ByteBuffer {
        let bytes = topic.map { SSEEncoder.tagging(frame, with: $0, allocator: allocator) } ?? frame
        return HTTPChunk.wrap(bytes, allocator: allocator)
    }
}

extension StreamFormat {
    /// One event's frame in this format, as one chunk; for one-off frames (a replay's history). A positioned
    /// format's frame has no id (its stream writes its own `id:` line).
    func frame(for event: ServerSentEvent, topic: Topic, allocator: ByteBufferAllocator) -> ByteBuffer {
        var event = event
        if positioned { event.id = nil }
        return StreamFrames.chunk(
            dialect.frame(for: event, allocator: allocator), topic: tagged ? topic : nil, allocator: allocator)
    }
}
