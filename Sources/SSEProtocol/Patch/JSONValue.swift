/// A JSON value read by a small strict scanner that keeps object members in document order.
///
/// Foundation's `JSONSerialization` returns dictionaries, which lose member order, and a patch's order is part of its
/// meaning (fragments are applied in the order they were published). It also turns numbers into doubles, while a
/// patch's `js` values must travel as the JSON their publisher wrote (`1.50` stays `1.50`). The scanner follows
/// RFC 8259 strictly: one value, no trailing commas, no comments, no leading zeros, no lone surrogates, no raw control
/// characters in strings, and valid UTF-8 only. By default it also rejects an object that repeats a member name,
/// because two readers of such an object (ours and the browser's) could disagree on which one wins; see
/// ``ParsingOptions``. Nesting is limited so hostile input cannot exhaust the stack.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number exactly as written (checked against JSON's grammar), so no precision is lost.
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in document order.
    case object([Member])

    /// One `"key": value` pair of an object.
    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: JSONValue

        public init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    /// The members of an object, nil for any other value.
    public var members: [Member]? {
        if case .object(let members) = self { return members }
        return nil
    }

    /// The value of an object's first member called `key`, nil when absent or when this is not an object.
    public subscript(key: String) -> JSONValue? {
        members?.first { $0.key == key }?.value
    }

    /// The value as compact JSON text: no whitespace outside strings, members in order, numbers as written.
    ///
    /// Strings are re-escaped by ``JSONText``, so the text can be embedded in HTML and JavaScript as it is.
    public var compactText: String {
        var out = ""
        appendCompact(to: &out)
        return out
    }

    /// Appends ``compactText`` to `out` without building an intermediate string per value.
    public func appendCompact(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .number(let text): out += text
        case .string(let value): JSONText.appendString(value, to: &out)
        case .array(let elements):
            out += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { out += "," }
                element.appendCompact(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (index, member) in members.enumerated() {
                if index > 0 { out += "," }
                JSONText.appendString(member.key, to: &out)
                out += ":"
                member.value.appendCompact(to: &out)
            }
            out += "}"
        }
    }
}
