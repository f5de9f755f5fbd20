import SSEProtocol

/// A JSON value that keeps what Foundation's `JSONSerialization` loses: the order of object members (a patch's
/// `html` entries are applied in the order they were sent), duplicate names (so they can be refused), and the
/// exact text of numbers (a `js` value is passed on as the JSON the caller wrote, `1.50` stays `1.50`).
enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number exactly as written (already checked against JSON's number grammar).
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in document order; names may repeat (the parser does not merge them).
    case object([(name: String, value: JSONValue)])

    static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.name == $1.name && $0.value == $1.value }
        default: return false
        }
    }

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

    var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The integer value of a number without fraction or exponent that fits in 64 bits.
    var integerValue: Int64? {
        if case .number(let text) = self { return Int64(text) }
        return nil
    }

    var members: [(name: String, value: JSONValue)]? {
        if case .object(let members) = self { return members }
        return nil
    }

    /// The first member called `name`.
    subscript(name: String) -> JSONValue? {
        members?.first { $0.name == name }?.value
    }

    /// Compact JSON text: no spaces, members in their order, strings escaped as ``JSONText`` does.
    var text: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .number(let text): out += text
        case .string(let value): JSONText.appendString(value, to: &out)
        case .array(let elements):
            out += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { out += "," }
                element.write(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (index, member) in members.enumerated() {
                if index > 0 { out += "," }
                JSONText.appendString(member.name, to: &out)
                out += ":"
                member.value.write(to: &out)
            }
            out += "}"
        }
    }
}
