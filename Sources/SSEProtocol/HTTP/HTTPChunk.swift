import NIOCore

/// HTTP/1.1 chunked transfer coding (RFC 9112 §7.1) of an event stream's body.
///
/// A stream's body is chunked so that the client can tell how it ended: a body that ends with the last chunk
/// (``last``) was finished on purpose, while a connection that closes without it broke, which a `fetch` reader
/// reports as an error and retries (an `EventSource` reconnects either way). Through nginx the distinction holds:
/// nginx relays a missing last chunk as a broken response.
///
/// Frames are chunked where they are encoded, once per frame, so that a frame shared by many streams is written
/// to each as it is: the chunk header costs nothing per delivery, and frames joined back to back stay a valid body.
public enum HTTPChunk {
    /// The last chunk with no trailers: the body is complete.
    public static let last = ByteBuffer(string: "0\r\n\r\n")

    /// Room left before a frame for its chunk-size line: up to 8 hex digits and CRLF (frames under 4 GiB).
    static let headerRoom = 10

    /// A chunk holding what `write` appends. The buffer is allocated with room for the chunk-size line in front, so
    /// the frame is encoded in place and never copied. An empty frame yields an empty buffer (not a chunk: a
    /// zero-size chunk would end the body).
    public static func encode(
        capacity: Int, allocator: ByteBufferAllocator, _ write: (inout ByteBuffer) -> Void
    ) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: headerRoom + capacity + 2)
        buffer.moveWriterIndex(forwardBy: headerRoom)
        buffer.moveReaderIndex(forwardBy: headerRoom)
        write(&buffer)
        let size = buffer.readableBytes
        guard size > 0 else { return ByteBuffer() }
        let header = String(size, radix: 16) + "\r\n"
        let start = headerRoom - header.utf8.count
        buffer.setString(header, at: start)
        buffer.moveReaderIndex(to: start)
        buffer.writeStaticString("\r\n")
        return buffer
    }

    /// `frame` as one chunk (a copy); empty for an empty frame.
    public static func wrap(_ frame: ByteBuffer, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        encode(capacity: frame.readableBytes, allocator: allocator) { $0.writeImmutableBuffer(frame) }
    }

    /// Appends `text` to `buffer` as one chunk (nothing for empty text): for a run of frames written in one buffer.
    public static func append(_ text: String, to buffer: inout ByteBuffer) {
        let size = text.utf8.count
        guard size > 0 else { return }
        buffer.writeString(String(size, radix: 16))
        buffer.writeStaticString("\r\n")
        buffer.writeString(text)
        buffer.writeStaticString("\r\n")
    }

    /// The payloads of a sequence of whole chunks, in order (slices of `chunks`, not copies); nil when the bytes are
    /// not whole chunks. The last chunk, if present, yields nothing. For clients that cannot take chunked coding
    /// (HTTP/1.0), which then read a close-delimited body.
    public static func payloads(of chunks: ByteBuffer) -> [ByteBuffer]? {
        var input = chunks
        var result: [ByteBuffer] = []
        while input.readableBytes > 0 {
            var size = 0
            var digits = 0
            while let byte = input.readInteger(as: UInt8.self), byte != UInt8(ascii: "\r") {
                guard let digit = HTTPResponseFramer.hexValue(byte), digits < 8 else { return nil }
                size = size * 16 + digit
                digits += 1
            }
            guard digits > 0, input.readInteger(as: UInt8.self) == UInt8(ascii: "\n") else { return nil }
            if size == 0 { return result }
            guard let payload = input.readSlice(length: size), input.readString(length: 2) == "\r\n" else { return nil }
            result.append(payload)
        }
        return result
    }
}
