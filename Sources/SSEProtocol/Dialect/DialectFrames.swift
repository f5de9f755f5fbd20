import NIOCore

/// One event's frames for the dialects a topic's streams use, each encoded at most once: what the gateway's hub
/// hands to every event loop for one message.
///
/// A plain event (or any event when only the engine dialect is in use) is encoded once and the same copy-on-write
/// buffer serves every dialect; the patch is parsed only when a non-engine dialect is wanted, once, and each such
/// dialect is encoded from that parse.
public struct DialectFrames: Sendable {
    private var engine: ByteBuffer?
    private var htmx: ByteBuffer?
    private var datastar: ByteBuffer?
    private var turbo: ByteBuffer?
    /// The dialects whose frames were encoded (a shared plain frame counts once, as ``Dialect/engine``).
    public private(set) var encoded: DialectSet = []
    /// The bytes of the encoded frames (a shared plain frame counts once): what holding these frames costs.
    public private(set) var bytes = 0

    public init(
        encoding event: ServerSentEvent, for dialects: DialectSet,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) {
        let needsPatch = !dialects.subtracting(.engine).isEmpty
        guard let patch = needsPatch ? Patch(event: event) : nil else {
            // The hot path (plain events, engine-only topics): one encode, no parsing, no allocation but the frame.
            guard !dialects.isEmpty else { return }
            var frame = allocator.buffer(capacity: event.data.readableBytes + 64)
            SSEEncoder.event(event, into: &frame)
            encoded = .engine
            bytes = frame.readableBytes
            if dialects.contains(.engine) { engine = frame }
            if dialects.contains(.htmx) { htmx = frame }
            if dialects.contains(.datastar) { datastar = frame }
            if dialects.contains(.turbo) { turbo = frame }
            return
        }
        for dialect in Dialect.allCases where dialects.contains(dialect) {
            var frame = allocator.buffer(capacity: event.data.readableBytes + 128)
            dialect.encode(event, patch: patch, into: &frame)
            self[dialect] = frame
            encoded.insert(DialectSet(dialect))
            bytes += frame.readableBytes
        }
    }

    /// The frame for a dialect; nil when it was not asked for.
    public private(set) subscript(dialect: Dialect) -> ByteBuffer? {
        get {
            switch dialect {
            case .engine: engine
            case .htmx: htmx
            case .datastar: datastar
            case .turbo: turbo
            }
        }
        set {
            switch dialect {
            case .engine: engine = newValue
            case .htmx: htmx = newValue
            case .datastar: datastar = newValue
            case .turbo: turbo = newValue
            }
        }
    }
}
