import NIOCore

/// One reply from Redis, copied out of hiredis into Swift values (no C memory is referenced).
///
/// hiredis 0.14 speaks RESP2 only, so these are the RESP2 types: bulk strings stay bytes (Redis values are binary),
/// status and error lines are text, and a nil bulk or nil array is `.null`.
public enum RedisReply: Sendable, Hashable {
    /// A simple string such as `OK` or `PONG`.
    case status(String)
    /// An error reply; the text is Redis's own (`WRONGTYPE …`, `ERR unknown command …`).
    case error(String)
    case integer(Int64)
    /// A bulk string: arbitrary bytes, byte for byte as stored.
    case bulk(ByteBuffer)
    /// A nil bulk string or nil array.
    case null
    case array([RedisReply])
}

extension RedisReply {
    /// The reply as text: bulk bytes decoded as UTF-8 (invalid sequences repaired), status text, or an integer.
    public var string: String? {
        switch self {
        case .bulk(let bytes): return String(buffer: bytes)
        case .status(let text): return text
        case .integer(let value): return String(value)
        default: return nil
        }
    }

    /// The bulk bytes of the reply, or the UTF-8 of a status line.
    public var bytes: [UInt8]? {
        switch self {
        case .bulk(let bytes): return Array(bytes.readableBytesView)
        case .status(let text): return Array(text.utf8)
        default: return nil
        }
    }

    public var int: Int64? {
        switch self {
        case .integer(let value): return value
        case .bulk(let bytes): return Int64(String(buffer: bytes))
        default: return nil
        }
    }

    public var array: [RedisReply]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    public var isNull: Bool { self == .null }

    /// Throws the server's error text when this is an error reply; returns the reply otherwise.
    @discardableResult
    public func throwingServerError() throws(RedisError) -> RedisReply {
        if case .error(let message) = self { throw RedisError.server(message: message) }
        return self
    }
}

extension RedisReply: CustomStringConvertible {
    public var description: String {
        switch self {
        case .status(let text): return "status(\(text))"
        case .error(let text): return "error(\(text))"
        case .integer(let value): return "integer(\(value))"
        case .bulk(let bytes):
            let shown =
                bytes.readableBytes > 64 ? "\(bytes.readableBytes) bytes" : String(reflecting: String(buffer: bytes))
            return "bulk(\(shown))"
        case .null: return "null"
        case .array(let elements): return "array[\(elements.map(\.description).joined(separator: ", "))]"
        }
    }
}
