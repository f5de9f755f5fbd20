import NIOCore

/// Writing the fields of an SSE event whose parts are Strings (the dialects build text, not byte slices).
extension ByteBuffer {
    /// `name: value` and a line feed. The value must hold no CR or LF (callers check or escape).
    mutating func writeEventField(_ name: StaticString, _ value: String) {
        writeStaticString(name)
        writeStaticString(": ")
        writeString(value)
        writeInteger(UInt8(ascii: "\n"))
    }

    /// One `data: <prefix><line>` per line of `text`, splitting on CRLF, a lone CR and a lone LF as the EventSource
    /// parser does (otherwise a bare CR in HTML would end the line and start a bogus field). Empty text gives one
    /// line with nothing after the prefix.
    mutating func writeDataLines(_ text: String, prefix: String = "") {
        var text = text
        text.withUTF8 { bytes in
            var lineStart = 0
            var index = 0
            let count = bytes.count
            while index < count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                    writeDataLine(UnsafeBufferPointer(rebasing: bytes[lineStart..<index]), prefix: prefix)
                    if byte == UInt8(ascii: "\r"), index + 1 < count, bytes[index + 1] == UInt8(ascii: "\n") {
                        index += 1
                    }
                    lineStart = index + 1
                }
                index += 1
            }
            writeDataLine(UnsafeBufferPointer(rebasing: bytes[lineStart..<count]), prefix: prefix)
        }
    }

    private mutating func writeDataLine(_ line: UnsafeBufferPointer<UInt8>, prefix: String) {
        writeStaticString("data: ")
        writeString(prefix)
        writeBytes(UnsafeRawBufferPointer(line))
        writeInteger(UInt8(ascii: "\n"))
    }
}
