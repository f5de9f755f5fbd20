/// A JSON value parsed by a small strict scanner that keeps object members in document order.
///
/// Foundation's `JSONSerialization` returns dictionaries, which lose member order, and a patch's order is part of its
/// meaning (fragments are applied in the order they were published). The scanner follows RFC 8259 strictly: one
/// value, no trailing commas, no comments, no leading zeros, no lone surrogates, no raw control characters in strings,
/// and valid UTF-8 only. It also rejects an object that repeats a member name, because the two readers of such an
/// object (ours and the browser's) could disagree on which one wins. Nesting is limited to
/// ``maximumDepth`` levels so hostile input cannot exhaust the stack.
enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number exactly as written (checked against JSON's grammar), so no precision is lost.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([Member])

    /// One `"key": value` pair of an object.
    struct Member: Sendable, Equatable {
        var key: String
        var value: JSONValue
    }

    /// Deepest nesting of arrays and objects accepted.
    static let maximumDepth = 256

    /// Parses one JSON document (whitespace around the value allowed).
    static func parse(_ text: String) throws(JSONValue.SyntaxError) -> JSONValue {
        var text = text
        let result: Result<JSONValue, JSONValue.SyntaxError> = text.withUTF8 { bytes in
            var scanner = Scanner(bytes: UnsafeRawBufferPointer(bytes))
            return Result { () throws(JSONValue.SyntaxError) in try scanner.document() }
        }
        return try result.get()
    }

    /// Parses one JSON document from raw bytes (which must be UTF-8).
    static func parse(bytes: UnsafeRawBufferPointer) throws(JSONValue.SyntaxError) -> JSONValue {
        var scanner = Scanner(bytes: bytes)
        return try scanner.document()
    }

    /// The members of an object, nil for any other value.
    var members: [Member]? {
        if case .object(let members) = self { return members }
        return nil
    }

    /// The value of an object's member, nil when absent or when this is not an object.
    subscript(key: String) -> JSONValue? {
        members?.first { $0.key == key }?.value
    }

    /// The value as compact JSON text: no whitespace outside strings, members in order, numbers as written, strings
    /// re-escaped by ``JSONText``.
    var compactText: String {
        var out = ""
        appendCompact(to: &out)
        return out
    }

    func appendCompact(to out: inout String) {
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

extension JSONValue {
    /// Why a text is not JSON: the reason and the byte offset where the scanner stopped.
    struct SyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
        var offset: Int
        var reason: String

        var description: String { "\(reason) at byte \(offset)" }
    }

    /// A recursive-descent scanner over UTF-8 bytes.
    struct Scanner {
        let bytes: UnsafeRawBufferPointer
        var index = 0
        var depth = 0

        init(bytes: UnsafeRawBufferPointer) {
            self.bytes = bytes
        }

        mutating func document() throws(JSONValue.SyntaxError) -> JSONValue {
            skipWhitespace()
            let value = try self.value()
            skipWhitespace()
            guard index == bytes.count else { throw failure("unexpected \(found) after the value") }
            return value
        }

        private mutating func value() throws(JSONValue.SyntaxError) -> JSONValue {
            guard index < bytes.count else { throw failure("unexpected end of input, expected a value") }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try object()
            case UInt8(ascii: "["): return try array()
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try literal("true", .bool(true))
            case UInt8(ascii: "f"): return try literal("false", .bool(false))
            case UInt8(ascii: "n"): return try literal("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
            default: throw failure("unexpected \(found), expected a value")
            }
        }

        private mutating func object() throws(JSONValue.SyntaxError) -> JSONValue {
            try enter()
            index += 1
            var members: [Member] = []
            var keys: Set<String>?
            skipWhitespace()
            if peek(UInt8(ascii: "}")) {
                index += 1
                depth -= 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard peek(UInt8(ascii: "\"")) else { throw failure("unexpected \(found), expected a member name") }
                let keyOffset = index
                let key = try string()
                // Small objects (the common case) are checked by a scan; large ones through a set.
                if members.count >= 8 {
                    if keys == nil { keys = Set(members.map(\.key)) }
                    guard keys!.insert(key).inserted else {
                        throw SyntaxError(offset: keyOffset, reason: "duplicate member \(key.debugDescription)")
                    }
                } else if members.contains(where: { $0.key == key }) {
                    throw SyntaxError(offset: keyOffset, reason: "duplicate member \(key.debugDescription)")
                }
                skipWhitespace()
                guard peek(UInt8(ascii: ":")) else { throw failure("unexpected \(found), expected ':'") }
                index += 1
                skipWhitespace()
                members.append(Member(key: key, value: try value()))
                skipWhitespace()
                if peek(UInt8(ascii: ",")) {
                    index += 1
                } else if peek(UInt8(ascii: "}")) {
                    index += 1
                    depth -= 1
                    return .object(members)
                } else {
                    throw failure("unexpected \(found), expected ',' or '}'")
                }
            }
        }

        private mutating func array() throws(JSONValue.SyntaxError) -> JSONValue {
            try enter()
            index += 1
            var elements: [JSONValue] = []
            skipWhitespace()
            if peek(UInt8(ascii: "]")) {
                index += 1
                depth -= 1
                return .array(elements)
            }
            while true {
                skipWhitespace()
                elements.append(try value())
                skipWhitespace()
                if peek(UInt8(ascii: ",")) {
                    index += 1
                } else if peek(UInt8(ascii: "]")) {
                    index += 1
                    depth -= 1
                    return .array(elements)
                } else {
                    throw failure("unexpected \(found), expected ',' or ']'")
                }
            }
        }

        private mutating func enter() throws(JSONValue.SyntaxError) {
            depth += 1
            guard depth <= JSONValue.maximumDepth else {
                throw failure("nesting deeper than \(JSONValue.maximumDepth) levels")
            }
        }

        /// A string literal starting at the opening quote; returns its decoded value.
        private mutating func string() throws(JSONValue.SyntaxError) -> String {
            let start = index
            index += 1
            var decoded: [UInt8] = []
            var runStart = index
            while true {
                guard index < bytes.count else {
                    throw SyntaxError(offset: start, reason: "unterminated string")
                }
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    let text: String?
                    if decoded.isEmpty {
                        text = String(validating: bytes[runStart..<index], as: UTF8.self)
                    } else {
                        decoded.append(contentsOf: bytes[runStart..<index])
                        text = String(validating: decoded, as: UTF8.self)
                    }
                    guard let text else { throw SyntaxError(offset: start, reason: "string is not valid UTF-8") }
                    index += 1
                    return text
                } else if byte == UInt8(ascii: "\\") {
                    decoded.append(contentsOf: bytes[runStart..<index])
                    try escape(into: &decoded)
                    runStart = index
                } else if byte < 0x20 {
                    throw failure("control character U+00\(hex2(byte)) in a string (escape it)")
                } else {
                    index += 1
                }
            }
        }

        /// One escape sequence starting at the backslash.
        private mutating func escape(into decoded: inout [UInt8]) throws(JSONValue.SyntaxError) {
            let start = index
            index += 1
            guard index < bytes.count else { throw SyntaxError(offset: start, reason: "unterminated string") }
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded.append(byte)
            case UInt8(ascii: "b"): decoded.append(0x08)
            case UInt8(ascii: "f"): decoded.append(0x0C)
            case UInt8(ascii: "n"): decoded.append(0x0A)
            case UInt8(ascii: "r"): decoded.append(0x0D)
            case UInt8(ascii: "t"): decoded.append(0x09)
            case UInt8(ascii: "u"):
                var value = try hex4(at: start)
                if (0xD800...0xDBFF).contains(value) {
                    guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                        bytes[index + 1] == UInt8(ascii: "u")
                    else { throw SyntaxError(offset: start, reason: "lone surrogate escape") }
                    index += 2
                    let low = try hex4(at: start)
                    guard (0xDC00...0xDFFF).contains(low) else {
                        throw SyntaxError(offset: start, reason: "lone surrogate escape")
                    }
                    value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(value) {
                    throw SyntaxError(offset: start, reason: "lone surrogate escape")
                }
                decoded.append(contentsOf: String(Character(Unicode.Scalar(value)!)).utf8)
            default:
                throw SyntaxError(offset: start, reason: "invalid escape in a string")
            }
        }

        private mutating func hex4(at escapeStart: Int) throws(JSONValue.SyntaxError) -> UInt32 {
            guard index + 4 <= bytes.count else {
                throw SyntaxError(offset: escapeStart, reason: "invalid \\u escape")
            }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw SyntaxError(offset: escapeStart, reason: "invalid \\u escape")
                }
                value = value << 4 | UInt32(digit)
                index += 1
            }
            return value
        }

        /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, returned as written.
        private mutating func number() throws(JSONValue.SyntaxError) -> String {
            let start = index
            if peek(UInt8(ascii: "-")) { index += 1 }
            if peek(UInt8(ascii: "0")) {
                index += 1
            } else if digits() == 0 {
                throw SyntaxError(offset: start, reason: "malformed number")
            }
            if peek(UInt8(ascii: ".")) {
                index += 1
                guard digits() > 0 else { throw SyntaxError(offset: start, reason: "malformed number") }
            }
            if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
                index += 1
                if peek(UInt8(ascii: "+")) || peek(UInt8(ascii: "-")) { index += 1 }
                guard digits() > 0 else { throw SyntaxError(offset: start, reason: "malformed number") }
            }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        private mutating func digits() -> Int {
            let start = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            return index - start
        }

        private mutating func literal(_ word: StaticString, _ value: JSONValue) throws(JSONValue.SyntaxError)
            -> JSONValue
        {
            let count = word.utf8CodeUnitCount
            let expected = UnsafeRawBufferPointer(start: word.utf8Start, count: count)
            guard index + count <= bytes.count, bytes[index..<index + count].elementsEqual(expected) else {
                throw failure("unexpected \(found), expected a value")
            }
            index += count
            return value
        }

        private mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): index += 1
                default: return
                }
            }
        }

        private func peek(_ byte: UInt8) -> Bool {
            index < bytes.count && bytes[index] == byte
        }

        /// What stands at the current position, for messages.
        private var found: String {
            guard index < bytes.count else { return "end of input" }
            let byte = bytes[index]
            if byte >= 0x20 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
            return "byte 0x\(hex2(byte))"
        }

        private func failure(_ reason: String) -> JSONValue.SyntaxError {
            SyntaxError(offset: index, reason: reason)
        }

        private func hex2(_ byte: UInt8) -> String {
            let digits = String(byte, radix: 16, uppercase: true)
            return byte < 0x10 ? "0" + digits : digits
        }
    }
}
