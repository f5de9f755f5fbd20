import SSEProtocol

/// How the publisher reads JSON and names what it found, for the one-line reasons of its 400 and 422 answers.
extension JSONValue {
    /// What a message calls this kind of value: `a string`, `an object`, …
    var kind: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// The text of a string, nil for any other value.
    var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The integer value of a number without fraction or exponent that fits in 64 bits.
    var integerValue: Int64? {
        if case .number(let text) = self { return Int64(text) }
        return nil
    }
}

extension JSONValue.ParsingOptions {
    /// The publisher's reading of a body or a stored post: at most 64 levels deep (a body is at most 64 KiB), and
    /// repeated member names kept, so that `"topic"` given twice is refused as 422 naming the member rather than as
    /// malformed JSON.
    static let publisher = Self(maximumDepth: 64, duplicateMembers: .keep)
}
