import NIOCore

/// One event as the gateway delivers it: an optional id, an optional name and the data bytes.
///
/// The data is a `ByteBuffer` so an event decoded from a Redis message shares that message's storage and is
/// encoded into a frame without passing through a String: data is bytes end to end, and bytes that are not
/// valid UTF-8 pass through untouched.
public struct ServerSentEvent: Sendable, Hashable {
    /// Set for reliable events (kept in history, resumable); nil for fire-and-forget ones.
    public var id: EventID?
    /// The `event:` field; nil sends none, so browsers dispatch a `message` event. Always a valid
    /// ``EventName`` (set through the initialisers only).
    public private(set) var event: String?
    /// The data; line breaks in it (CRLF, CR or LF) become separate `data:` lines on the wire.
    public var data: ByteBuffer

    public init(id: EventID? = nil, event: EventName? = nil, data: ByteBuffer) {
        self.id = id
        self.event = event?.value
        self.data = data
    }

    /// Validates the event name; nil means no name.
    public init(id: EventID? = nil, validatingEvent event: String?, data: ByteBuffer) throws(SSEProtocolError) {
        let name: EventName? =
            if let event { try EventName(validating: event) } else { nil }
        self.init(id: id, event: name, data: data)
    }

    /// Text data, for tests and small control events.
    public init(id: EventID? = nil, event: EventName? = nil, data: String) {
        self.init(id: id, event: event, data: ByteBuffer(string: data))
    }
}

extension ServerSentEvent: CustomStringConvertible {
    public var description: String {
        var parts: [String] = []
        if let id { parts.append("id: \(id)") }
        if let event { parts.append("event: \(event)") }
        parts.append("data: \(String(buffer: data).debugDescription) (\(data.readableBytes) bytes)")
        return "ServerSentEvent(\(parts.joined(separator: ", ")))"
    }
}
