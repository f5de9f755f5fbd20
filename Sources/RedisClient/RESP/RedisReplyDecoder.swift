import CHiredis
import NIOCore

/// Decodes RESP2 replies from a byte stream with a hiredis `redisReader`.
///
/// The reader pointer never leaves this type: bytes are fed in as they arrive (split anywhere), each complete reply
/// is copied into a ``RedisReply`` and the C reply object is freed before `next()` returns. Not thread-safe: one
/// decoder belongs to one channel handler on one event loop.
public final class RedisReplyDecoder {
    private let reader: UnsafeMutablePointer<redisReader>

    public init() {
        guard let reader = redisReaderCreate() else {
            fatalError("redisReaderCreate failed to allocate")
        }
        self.reader = reader
    }

    deinit {
        redisReaderFree(reader)
    }

    /// Hands bytes to the reader (hiredis keeps its own copy until they are consumed).
    public func feed(_ buffer: ByteBuffer) throws(RedisError) {
        let status = buffer.withUnsafeReadableBytes { bytes -> Int32 in
            guard let base = bytes.baseAddress, bytes.count > 0 else { return REDIS_OK }
            return redisReaderFeed(reader, base.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        if status != REDIS_OK { throw readerError() }
    }

    /// Hands raw bytes to the reader.
    public func feed(_ bytes: some Collection<UInt8>) throws(RedisError) {
        var buffer = ByteBuffer()
        buffer.writeBytes(bytes)
        try feed(buffer)
    }

    /// The next complete reply, or nil when more bytes are needed.
    ///
    /// A malformed stream throws ``RedisError/protocolViolation(_:)``; the decoder is unusable afterwards.
    public func next() throws(RedisError) -> RedisReply? {
        var raw: UnsafeMutableRawPointer? = nil
        guard redisReaderGetReply(reader, &raw) == REDIS_OK else { throw readerError() }
        guard let raw else { return nil }
        defer { freeReplyObject(raw) }
        return Self.copy(raw.assumingMemoryBound(to: redisReply.self))
    }

    private func readerError() -> RedisError {
        let message = withUnsafeBytes(of: reader.pointee.errstr) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        return .protocolViolation(message.isEmpty ? "reader error \(reader.pointee.err)" : message)
    }

    private static func copy(_ reply: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let value = reply.pointee
        switch value.type {
        case REDIS_REPLY_STRING:
            return .bulk(ByteBuffer(bytes: UnsafeRawBufferPointer(start: value.str, count: value.len)))
        case REDIS_REPLY_STATUS:
            return .status(text(value))
        case REDIS_REPLY_ERROR:
            return .error(text(value))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(value.integer))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReply] = []
            elements.reserveCapacity(value.elements)
            for index in 0..<value.elements {
                if let element = value.element[index] {
                    elements.append(copy(element))
                } else {
                    elements.append(.null)
                }
            }
            return .array(elements)
        default:
            return .null
        }
    }

    private static func text(_ value: redisReply) -> String {
        String(decoding: UnsafeRawBufferPointer(start: value.str, count: value.len), as: UTF8.self)
    }
}
