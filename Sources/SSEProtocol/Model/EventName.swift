/// A validated SSE event name (the `event:` field), e.g. `patch` or `datastar-patch-elements`.
///
/// A CR or LF would end the `event:` line early and let the rest be read as another field (an injected `data:` or
/// `id:`), and NUL is rejected by many clients, so none of them is allowed. Leading and trailing spaces are
/// rejected too: the EventSource parser strips one leading space, so `" x"` would silently arrive as `"x"`.
/// The length limit is in UTF-8 bytes, the same unit the Redis function checks, so both sides agree on
/// non-ASCII names.
public struct EventName: Hashable, Sendable, CustomStringConvertible {
    /// Longest accepted name, in UTF-8 bytes.
    public static let maximumLength = 64

    public let value: String

    /// Accepts 1–64 bytes without CR, LF or NUL and without a leading or trailing space; anything else is
    /// ``SSEProtocolError/invalidEventName(_:)``.
    public init(validating value: String) throws(SSEProtocolError) {
        guard Self.isValid(value.utf8) else { throw .invalidEventName(value) }
        self.value = value
    }

    /// For names already checked by ``isValid(_:)``.
    init(unchecked value: String) {
        self.value = value
    }

    public var description: String { value }

    static func isValid(_ bytes: some Collection<UInt8>) -> Bool {
        guard let first = bytes.first, bytes.count <= maximumLength else { return false }
        var last = first
        for byte in bytes {
            if byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n") || byte == 0 { return false }
            last = byte
        }
        return first != UInt8(ascii: " ") && last != UInt8(ascii: " ")
    }
}
