import NIOCore

/// The id of a reliable event: `<milliseconds>-<sequence>`, the same shape as a Redis stream entry id.
///
/// Ids come from one clock per Redis (see `History` in SSEHistory), so they are totally ordered across every topic:
/// a client subscribed to several topics resumes from one `Last-Event-ID`, and "after this id" means the same
/// instant in every topic's history. Ordering is by milliseconds, then by sequence.
public struct EventID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Unix time in milliseconds on the Redis server when the event was published (or the clock's last value if
    /// the server's time went backwards).
    public var milliseconds: UInt64
    /// Tells apart events published within the same millisecond, counting from 0.
    public var sequence: UInt64

    /// Longest valid text form: two 20-digit numbers and the dash.
    public static let maximumLength = 41

    public init(milliseconds: UInt64, sequence: UInt64) {
        self.milliseconds = milliseconds
        self.sequence = sequence
    }

    /// Parses `<milliseconds>-<sequence>`: two unsigned decimal numbers that fit in 64 bits, nothing else (no sign,
    /// no spaces, no missing part). A `Last-Event-ID` header is client input, so anything else is
    /// ``SSEProtocolError/malformedEventID(_:)`` rather than a best guess.
    public init(parsing text: some StringProtocol) throws(SSEProtocolError) {
        guard let id = Self.parse(text.utf8) else { throw .malformedEventID(String(text)) }
        self = id
    }

    /// Parses the UTF-8 form; nil when malformed. Used on wire bytes (envelopes, Redis replies in `SSEHistory`)
    /// without making a String first.
    public static func parse(_ bytes: some Collection<UInt8>) -> EventID? {
        guard !bytes.isEmpty, bytes.count <= maximumLength else { return nil }
        var milliseconds: UInt64 = 0
        var sequence: UInt64 = 0
        var sawDash = false
        var digitsInPart = 0
        for byte in bytes {
            if byte == UInt8(ascii: "-") {
                guard !sawDash, digitsInPart > 0 else { return nil }
                sawDash = true
                digitsInPart = 0
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let digit = UInt64(byte &- UInt8(ascii: "0"))
            digitsInPart += 1
            if sawDash {
                guard let next = Self.appending(digit, to: sequence) else { return nil }
                sequence = next
            } else {
                guard let next = Self.appending(digit, to: milliseconds) else { return nil }
                milliseconds = next
            }
        }
        guard sawDash, digitsInPart > 0 else { return nil }
        return EventID(milliseconds: milliseconds, sequence: sequence)
    }

    @inline(__always)
    private static func appending(_ digit: UInt64, to value: UInt64) -> UInt64? {
        let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
        let (sum, overflow2) = times10.addingReportingOverflow(digit)
        return overflow1 || overflow2 ? nil : sum
    }

    /// `milliseconds-sequence`, the form sent in `id:` lines and accepted back in `Last-Event-ID`.
    public var description: String { "\(milliseconds)-\(sequence)" }

    public static func < (lhs: EventID, rhs: EventID) -> Bool {
        (lhs.milliseconds, lhs.sequence) < (rhs.milliseconds, rhs.sequence)
    }

    /// Appends the text form as ASCII digits, without building a String (the encoder's hot path).
    func write(into buffer: inout ByteBuffer) {
        Self.writeDecimal(milliseconds, into: &buffer)
        buffer.writeInteger(UInt8(ascii: "-"))
        Self.writeDecimal(sequence, into: &buffer)
    }

    static func writeDecimal(_ value: UInt64, into buffer: inout ByteBuffer) {
        // 20 digits hold UInt64.max; digits are produced backwards into a stack tuple, then written once.
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { scratch in
            var remaining = value
            var index = scratch.count
            repeat {
                index -= 1
                scratch[index] = UInt8(ascii: "0") &+ UInt8(remaining % 10)
                remaining /= 10
            } while remaining > 0
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: scratch[index...]))
        }
    }
}
