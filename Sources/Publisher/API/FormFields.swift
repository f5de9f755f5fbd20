/// The fields of an `application/x-www-form-urlencoded` body or a URL query, decoded.
///
/// Written here rather than taken from Hummingbird's `URLEncodedFormDecoder` so that the rules are the browser's
/// (`+` is a space, `%XX` a byte, the bytes UTF-8) and every failure has a one-line reason: a malformed escape or
/// bytes that are not UTF-8 are refused, not silently repaired into different text.
struct FormFields: Sendable, Equatable {
    /// Name/value pairs in the order given; a name may repeat.
    var pairs: [(name: String, value: String)]

    static func == (lhs: FormFields, rhs: FormFields) -> Bool {
        lhs.pairs.count == rhs.pairs.count && zip(lhs.pairs, rhs.pairs).allSatisfy { $0 == $1 }
    }

    /// Decodes `name=value&name=value`; a pair without `=` has an empty value, empty pairs are skipped.
    init(decoding bytes: some Collection<UInt8>) throws(FormFieldsError) {
        pairs = []
        for pair in Array(bytes).split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let name = try Self.decode(parts[0])
            let value = parts.count > 1 ? try Self.decode(parts[1]) : ""
            pairs.append((name, value))
        }
    }

    init(decoding text: String) throws(FormFieldsError) {
        try self.init(decoding: text.utf8)
    }

    /// The first value of `name`.
    subscript(name: String) -> String? {
        pairs.first { $0.name == name }?.value
    }

    /// Percent-decodes one name or value, `+` meaning a space.
    static func decode(_ encoded: ArraySlice<UInt8>) throws(FormFieldsError) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(encoded.count)
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let byte = encoded[index]
            switch byte {
            case UInt8(ascii: "+"):
                bytes.append(UInt8(ascii: " "))
                index += 1
            case UInt8(ascii: "%"):
                guard encoded.endIndex - index >= 3, let high = hexValue(encoded[index + 1]),
                    let low = hexValue(encoded[index + 2])
                else {
                    let shown = String(decoding: encoded[index..<min(index + 3, encoded.endIndex)], as: UTF8.self)
                    throw .malformedEscape(shown)
                }
                bytes.append(high << 4 | low)
                index += 3
            default:
                bytes.append(byte)
                index += 1
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .notUTF8 }
        return text
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// Why form-encoded input could not be decoded.
enum FormFieldsError: Error, Equatable, CustomStringConvertible {
    case malformedEscape(String)
    case notUTF8

    var description: String {
        switch self {
        case .malformedEscape(let found):
            return "malformed form encoding: \(found.debugDescription) is not a %XX escape"
        case .notUTF8:
            return "malformed form encoding: the decoded bytes are not UTF-8"
        }
    }
}
