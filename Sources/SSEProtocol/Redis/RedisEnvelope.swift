import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The pub/sub message contract: how a payload on a topic's channel becomes a ``ServerSentEvent``.
///
/// Three shapes are accepted, tried in this order, so that any Redis client can publish without our library:
///
/// 1. **Reliable envelope**, written only by the `sse_publish` function (see `History` in SSEHistory):
///    `0x1E "sse1" SP <id> SP <event name or nothing> LF <data bytes verbatim>`. The record separator byte and the
///    version tag make an accidental match by a plain payload practically impossible, and the data after the
///    header is taken as a slice of the message, not copied.
/// 2. **JSON object** with a string `data` and an optional string `event`, e.g.
///    `PUBLISH 'sse:{chat}' '{"event":"patch","data":"<li>hi</li>"}'`: a named event without id. Other members
///    are ignored. An object whose `data` is not a string, or whose event name is invalid, is not this shape.
/// 3. **Anything else** is the data verbatim: `PUBLISH 'sse:{chat}' hello` sends `data: hello`.
///
/// A reliable envelope with a malformed header (bad id, invalid event name, no LF) falls back to shape 3, so a
/// broken publisher is visible on the wire instead of silently dropped.
public enum RedisEnvelope {
    /// `0x1E "sse1 "`: what a reliable envelope starts with.
    public static let reliablePrefix: [UInt8] = [0x1E] + Array("sse1 ".utf8)

    /// The bytes `sse_publish` publishes for a reliable event; byte-identical to the Lua side (tests check it).
    public static func encodeReliable(
        id: EventID, event: EventName?, data: ByteBuffer, allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) -> ByteBuffer {
        let name = event?.value ?? ""
        var buffer = allocator.buffer(
            capacity: reliablePrefix.count + EventID.maximumLength + name.utf8.count + 2 + data.readableBytes)
        buffer.writeBytes(reliablePrefix)
        id.write(into: &buffer)
        buffer.writeInteger(UInt8(ascii: " "))
        buffer.writeString(name)
        buffer.writeInteger(UInt8(ascii: "\n"))
        buffer.writeImmutableBuffer(data)
        return buffer
    }

    /// The event a channel message carries; never fails, since every payload is at least verbatim data.
    public static func decode(_ payload: ByteBuffer) -> ServerSentEvent {
        if let event = decodeReliable(payload) { return event }
        if let event = decodeJSON(payload) { return event }
        return ServerSentEvent(data: payload)
    }

    /// Shape 1, or nil when the payload is not a well-formed reliable envelope.
    static func decodeReliable(_ payload: ByteBuffer) -> ServerSentEvent? {
        let header: (id: EventID, event: EventName?, dataOffset: Int)? = payload.withUnsafeReadableBytes { bytes in
            guard bytes.starts(with: reliablePrefix) else { return nil }
            let idStart = reliablePrefix.count
            guard let idEnd = bytes[idStart...].firstIndex(of: UInt8(ascii: " ")),
                let id = EventID.parse(UnsafeRawBufferPointer(rebasing: bytes[idStart..<idEnd])),
                let nameEnd = bytes[(idEnd + 1)...].firstIndex(of: UInt8(ascii: "\n"))
            else { return nil }
            let nameBytes = UnsafeRawBufferPointer(rebasing: bytes[(idEnd + 1)..<nameEnd])
            var name: EventName?
            if !nameBytes.isEmpty {
                guard EventName.isValid(nameBytes) else { return nil }
                name = EventName(unchecked: String(decoding: nameBytes, as: UTF8.self))
            }
            return (id, name, nameEnd + 1)
        }
        guard let header else { return nil }
        let data = payload.getSlice(
            at: payload.readerIndex + header.dataOffset, length: payload.readableBytes - header.dataOffset)!
        return ServerSentEvent(id: header.id, event: header.event, data: data)
    }

    /// The members of shape 2 that matter; other members are ignored by `JSONDecoder`.
    private struct JSONEvent: Decodable {
        var data: String
        var event: String?
    }

    /// Shape 2, or nil when the payload is not a JSON object with a string `data` (and a valid name if any).
    static func decodeJSON(_ payload: ByteBuffer) -> ServerSentEvent? {
        let startsWithBrace = payload.withUnsafeReadableBytes { bytes in
            bytes.first(where: { !isJSONWhitespace($0) }) == UInt8(ascii: "{")
        }
        guard startsWithBrace else { return nil }
        let json = payload.withUnsafeReadableBytes { Data($0) }
        guard let decoded = try? JSONDecoder().decode(JSONEvent.self, from: json) else { return nil }
        var name: EventName?
        if let event = decoded.event, !event.isEmpty {
            guard let valid = try? EventName(validating: event) else { return nil }
            name = valid
        }
        return ServerSentEvent(event: name, data: ByteBuffer(string: decoded.data))
    }

    @inline(__always)
    private static func isJSONWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n")
            || byte == UInt8(ascii: "\r")
    }
}
