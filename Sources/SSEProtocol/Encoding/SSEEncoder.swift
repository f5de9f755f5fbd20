import NIOCore

/// Writes Server-Sent Events frames (the `text/event-stream` format) into a `ByteBuffer`.
///
/// The gateway encodes each event once per node and writes the same buffer to every subscriber, so this is on the
/// hot path: frames are written straight into the caller's buffer, data bytes are copied once from the event's
/// buffer and never pass through a String, and bytes that are not valid UTF-8 are written as they are.
///
/// Line breaks in data are CRLF, a lone CR or a lone LF, as the EventSource parser splits them; each line becomes
/// one `data:` line. A CR LF pair is one break. A trailing break gives a final empty `data: ` line, and empty data
/// gives a single `data: ` line, so that the spec's parser (which joins `data:` lines with LF and drops one
/// trailing LF) hands the browser exactly the data with its breaks normalised to LF.
public enum SSEEncoder {
    /// Appends `id: …` (if any), `event: …` (if any), one `data: …` line per line of data, then a blank line.
    public static func event(_ event: ServerSentEvent, into buffer: inout ByteBuffer) {
        buffer.reserveCapacity(minimumWritableBytes: estimatedSize(of: event))
        if let id = event.id {
            buffer.writeStaticString("id: ")
            id.write(into: &buffer)
            buffer.writeInteger(lineFeed)
        }
        if let name = event.event {
            buffer.writeStaticString("event: ")
            buffer.writeString(name)
            buffer.writeInteger(lineFeed)
        }
        writeDataLines(event.data, into: &buffer)
        buffer.writeInteger(lineFeed)
    }

    /// One event as a new buffer; for one-off frames (replay, control events) where no buffer is being filled.
    public static func encode(_ event: ServerSentEvent, allocator: ByteBufferAllocator = ByteBufferAllocator())
        -> ByteBuffer
    {
        var buffer = allocator.buffer(capacity: estimatedSize(of: event))
        self.event(event, into: &buffer)
        return buffer
    }

    /// Appends `retry: N` and a blank line: the reconnection delay, in milliseconds, the browser waits after the
    /// stream drops. Negative values are written as 0.
    public static func retry(milliseconds: Int, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("retry: ")
        EventID.writeDecimal(UInt64(max(milliseconds, 0)), into: &buffer)
        buffer.writeStaticString("\n\n")
    }

    /// Appends `: text` and a blank line. Clients ignore comments; the gateway sends them as heartbeats so proxies
    /// keep idle connections open. Each CR and LF in `text` becomes a space, so a comment is always one line and
    /// cannot smuggle in fields.
    public static func comment(_ text: String, into buffer: inout ByteBuffer) {
        buffer.reserveCapacity(minimumWritableBytes: text.utf8.count + 4)
        buffer.writeStaticString(": ")
        for byte in text.utf8 {
            buffer.writeInteger(byte == carriageReturn || byte == lineFeed ? UInt8(ascii: " ") : byte)
        }
        buffer.writeStaticString("\n\n")
    }

    /// Writes one `data: ` line per line of `data`, splitting on CRLF, CR and LF.
    static func writeDataLines(_ data: ByteBuffer, into buffer: inout ByteBuffer) {
        data.withUnsafeReadableBytes { bytes in
            var lineStart = 0
            var index = 0
            let count = bytes.count
            while index < count {
                let byte = bytes[index]
                if byte == lineFeed || byte == carriageReturn {
                    writeDataLine(UnsafeRawBufferPointer(rebasing: bytes[lineStart..<index]), into: &buffer)
                    if byte == carriageReturn, index + 1 < count, bytes[index + 1] == lineFeed {
                        index += 1
                    }
                    lineStart = index + 1
                }
                index += 1
            }
            writeDataLine(UnsafeRawBufferPointer(rebasing: bytes[lineStart..<count]), into: &buffer)
        }
    }

    @inline(__always)
    private static func writeDataLine(_ line: UnsafeRawBufferPointer, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("data: ")
        buffer.writeBytes(line)
        buffer.writeInteger(lineFeed)
    }

    /// Enough for a frame whose data has a few lines, so the common case writes without growing the buffer.
    static func estimatedSize(of event: ServerSentEvent) -> Int {
        var size = event.data.readableBytes + 16
        if event.id != nil { size += 5 + EventID.maximumLength }
        if let name = event.event { size += 8 + name.utf8.count }
        return size
    }

    static let lineFeed = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")
}
