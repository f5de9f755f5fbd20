import NIOCore

extension Dialect {
    /// Appends `event` as this dialect sends it. `patch` is the event's patch (``Patch/init(event:)``), parsed once
    /// by the caller for every dialect that needs it, or nil for a plain event. The engine dialect and plain events
    /// are the event's own frame (``SSEEncoder/event(_:into:)``), so they need no parsing at all.
    public func encode(_ event: ServerSentEvent, patch: Patch?, into buffer: inout ByteBuffer) {
        guard let patch else {
            SSEEncoder.event(event, into: &buffer)
            return
        }
        switch self {
        case .engine: SSEEncoder.event(event, into: &buffer)
        case .htmx: HTMXDialect.encode(patch, id: event.id, into: &buffer)
        case .datastar: DatastarDialect.encode(patch, id: event.id, into: &buffer)
        case .turbo: TurboDialect.encode(patch, id: event.id, into: &buffer)
        }
    }

    /// One event's frame in this dialect, parsing the patch when the dialect needs it; for one-off frames (replay).
    public func frame(for event: ServerSentEvent, allocator: ByteBufferAllocator = ByteBufferAllocator())
        -> ByteBuffer
    {
        var buffer = allocator.buffer(capacity: event.data.readableBytes + 128)
        encode(event, patch: self == .engine ? nil : Patch(event: event), into: &buffer)
        return buffer
    }
}
