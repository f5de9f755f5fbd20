/// The one percent-decoder of the package: `%XX` escapes to bytes, the bytes read as UTF-8.
///
/// Three inputs need it, with two choices that differ between them, so both are parameters rather than three
/// decoders:
///
/// - **What `+` means.** In `application/x-www-form-urlencoded` text (form bodies, URL queries) a `+` is a space;
///   in the other parts of a URL (a Redis URL's user and password) it is a plus sign. ``Plus``.
/// - **What a broken input gets.** ``decode(_:plus:)`` refuses a malformed escape or bytes that are not UTF-8, with
///   the reason (the publisher's forms and the Redis URL, where silently repaired text would be different text).
///   ``decodeRepairing(_:plus:)`` keeps a malformed escape as it is written and repairs invalid UTF-8 with U+FFFD
///   (the gateway's query, whose values are checked as topic names and dialects next, so a repaired value is
///   refused there with the text the client sent).
///
/// An escape is `%` followed by exactly two hexadecimal digits (either case); nothing else counts, so `%+F` or `%-1`
/// are malformed (a number parser would read them as signed hexadecimal).
public enum PercentDecoder {
    /// What a `+` in the input stands for.
    public enum Plus: Sendable {
        /// A space: form encoding (bodies and URL queries).
        case space
        /// Itself: any other part of a URL.
        case literal
    }

    /// Decodes `encoded`, refusing a malformed escape or decoded bytes that are not UTF-8.
    public static func decode(_ encoded: some Collection<UInt8>, plus: Plus) throws(PercentDecodingError) -> String {
        if !needsDecoding(encoded, plus: plus) {
            guard let text = String(validating: encoded, as: UTF8.self) else { throw .notUTF8 }
            return text
        }
        let bytes = try decodedBytes(encoded, plus: plus) { (shown) throws(PercentDecodingError) in
            throw .malformedEscape(shown)
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .notUTF8 }
        return text
    }

    /// Decodes `encoded`, keeping a malformed escape literally and repairing invalid UTF-8; never fails.
    public static func decodeRepairing(_ encoded: some Collection<UInt8>, plus: Plus) -> String {
        guard needsDecoding(encoded, plus: plus) else { return String(decoding: encoded, as: UTF8.self) }
        return String(decoding: decodedBytes(encoded, plus: plus) { _ in }, as: UTF8.self)
    }

    /// Whether anything in `encoded` is an escape or a `+` that means a space (most names and values are neither).
    private static func needsDecoding(_ encoded: some Collection<UInt8>, plus: Plus) -> Bool {
        encoded.contains { $0 == UInt8(ascii: "%") || (plus == .space && $0 == UInt8(ascii: "+")) }
    }

    /// The bytes `encoded` stands for. A malformed escape is passed to `malformed` (the `%` and at most two bytes
    /// after it, as written): when that returns, the `%` is kept as a byte and decoding goes on after it.
    private static func decodedBytes<Failure: Error>(
        _ encoded: some Collection<UInt8>, plus: Plus, malformed: (String) throws(Failure) -> Void
    ) throws(Failure) -> [UInt8] {
        let input = Array(encoded)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(input.count)
        var index = 0
        while index < input.count {
            let byte = input[index]
            if byte == UInt8(ascii: "%") {
                if index + 2 < input.count, let high = hexValue(input[index + 1]), let low = hexValue(input[index + 2])
                {
                    bytes.append(high << 4 | low)
                    index += 3
                    continue
                }
                try malformed(String(decoding: input[index..<min(index + 3, input.count)], as: UTF8.self))
            }
            bytes.append(plus == .space && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            index += 1
        }
        return bytes
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// Why ``PercentDecoder/decode(_:plus:)`` refused its input; each caller puts it in its own one-line message.
public enum PercentDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A `%` not followed by two hexadecimal digits: the `%` and at most two bytes after it, as written.
    case malformedEscape(String)
    /// The decoded bytes are not UTF-8.
    case notUTF8

    public var description: String {
        switch self {
        case .malformedEscape(let found): "\(found.debugDescription) is not a %XX escape"
        case .notUTF8: "the decoded bytes are not UTF-8"
        }
    }
}
