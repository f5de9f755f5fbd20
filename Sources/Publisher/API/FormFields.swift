import PercentDecoding

/// The fields of an `application/x-www-form-urlencoded` body or a URL query, decoded.
///
/// Written here rather than taken from Hummingbird's `URLEncodedFormDecoder` so that the rules are the browser's
/// (`+` is a space, `%XX` a byte, the bytes UTF-8) and every failure has a one-line reason: a malformed escape or
/// bytes that are not UTF-8 are refused (`PercentDecoder.decode`, strict), not silently repaired into different
/// text.
struct FormFields: Sendable, Equatable {
    /// Name/value pairs in the order given; a name may repeat.
    var pairs: [(name: String, value: String)]

    static func == (lhs: FormFields, rhs: FormFields) -> Bool {
        lhs.pairs.count == rhs.pairs.count && zip(lhs.pairs, rhs.pairs).allSatisfy { $0 == $1 }
    }

    /// Decodes `name=value&name=value`; a pair without `=` has an empty value, empty pairs are skipped.
    init(decoding bytes: some Collection<UInt8>) throws(PercentDecodingError) {
        pairs = []
        for pair in Array(bytes).split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let name = try Self.decode(parts[0])
            let value = parts.count > 1 ? try Self.decode(parts[1]) : ""
            pairs.append((name, value))
        }
    }

    init(decoding text: String) throws(PercentDecodingError) {
        try self.init(decoding: text.utf8)
    }

    /// The first value of `name`.
    subscript(name: String) -> String? {
        pairs.first { $0.name == name }?.value
    }

    /// Percent-decodes one name or value, `+` meaning a space.
    static func decode(_ encoded: ArraySlice<UInt8>) throws(PercentDecodingError) -> String {
        try PercentDecoder.decode(encoded, plus: .space)
    }
}
