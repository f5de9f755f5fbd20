extension JSONValue {
    /// A recursive-descent scanner over UTF-8 bytes; each error names the byte where reading stopped.
    struct Scanner {
        let bytes: UnsafeRawBufferPointer
        let options: ParsingOptions
        var index = 0
        var depth = 0

        init(bytes: UnsafeRawBufferPointer, options: ParsingOptions) {
            self.bytes = bytes
            self.options = options
        }

        mutating func document() throws(SyntaxError) -> JSONValue {
            skipWhitespace()
            let value = try self.value()
            skipWhitespace()
            guard index == bytes.count else { throw failure("the end of the input") }
            return value
        }

        private mutating func value() throws(SyntaxError) -> JSONValue {
            guard index < bytes.count else { throw failure("a value") }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try object()
            case UInt8(ascii: "["): return try array()
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try literal("true", .bool(true))
            case UInt8(ascii: "f"): return try literal("false", .bool(false))
            case UInt8(ascii: "n"): return try literal("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
            default: throw failure("a value")
            }
        }

        private mutating func object() throws(SyntaxError) -> JSONValue {
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
                guard peek(UInt8(ascii: "\"")) else { throw failure("a member name in double quotes") }
                let keyOffset = index
                let key = try string()
                if options.duplicateMembers == .reject {
                    // Small objects (the common case) are checked by a scan; large ones through a set.
                    let repeated: Bool
                    if members.count >= 8 {
                        if keys == nil { keys = Set(members.map(\.key)) }
                        repeated = !keys!.insert(key).inserted
                    } else {
                        repeated = members.contains { $0.key == key }
                    }
                    guard !repeated else {
                        throw SyntaxError(
                            offset: keyOffset,
                            expected: "a new member name, not a second \(SSEProtocolError.quoted(key))")
                    }
                }
                skipWhitespace()
                guard peek(UInt8(ascii: ":")) else { throw failure(#"":""#) }
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
                    throw failure(#""," or "}""#)
                }
            }
        }

        private mutating func array() throws(SyntaxError) -> JSONValue {
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
                    throw failure(#""," or "]""#)
                }
            }
        }

        /// Counts one more level of nesting at the opening bracket, refusing more than the options allow.
        private mutating func enter() throws(SyntaxError) {
            depth += 1
            guard depth <= options.maximumDepth else {
                throw failure("at most \(options.maximumDepth) nested levels")
            }
        }

        /// A string literal starting at the opening quote; returns its decoded value.
        ///
        /// Runs without escapes are copied as they are and checked as UTF-8 once, at the closing quote; the exact
        /// offset of an invalid byte is searched for only when that check fails.
        private mutating func string() throws(SyntaxError) -> String {
            let start = index
            index += 1
            var decoded: [UInt8] = []
            var runStart = index
            do throws(SyntaxError) {
                while true {
                    guard index < bytes.count else { throw failure("a closing double quote") }
                    let byte = bytes[index]
                    if byte == UInt8(ascii: "\"") {
                        let text: String?
                        if decoded.isEmpty {
                            text = String(validating: bytes[runStart..<index], as: UTF8.self)
                        } else {
                            decoded.append(contentsOf: bytes[runStart..<index])
                            text = String(validating: decoded, as: UTF8.self)
                        }
                        guard let text else { throw failure("valid UTF-8") }
                        index += 1
                        return text
                    } else if byte == UInt8(ascii: "\\") {
                        decoded.append(contentsOf: bytes[runStart..<index])
                        try escape(into: &decoded)
                        runStart = index
                    } else if byte < 0x20 {
                        throw failure("no control character inside a string (escape it)")
                    } else {
                        index += 1
                    }
                }
            } catch {
                // Report the earliest problem: an invalid byte before the one that stopped the scan comes first.
                if let invalid = firstInvalidUTF8(in: start + 1..<error.offset) {
                    throw SyntaxError(offset: invalid, expected: "valid UTF-8")
                }
                throw error
            }
        }

        /// One escape sequence starting at the backslash; appends what it stands for as UTF-8.
        private mutating func escape(into decoded: inout [UInt8]) throws(SyntaxError) {
            index += 1
            guard index < bytes.count else { throw failure("an escape character") }
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
                let unit = try hex4()
                var value = UInt32(unit)
                if (0xD800...0xDBFF).contains(unit) {
                    let expected = "a low surrogate escape after \\u\(Self.hex(unit))"
                    guard peek(UInt8(ascii: "\\")) else { throw failure(expected) }
                    index += 1
                    guard peek(UInt8(ascii: "u")) else { throw failure(expected) }
                    index += 1
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw failure("a low surrogate (\\uDC00–\\uDFFF)") }
                    value = 0x10000 + ((value - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(value) else { throw failure("no lone low surrogate") }
                UTF8.encode(scalar) { decoded.append($0) }
            default:
                index -= 1
                throw failure(#"one of " \ / b f n r t u after a backslash"#)
            }
        }

        /// The four hex digits of a `\u` escape.
        private mutating func hex4() throws(SyntaxError) -> UInt16 {
            var value: UInt16 = 0
            for _ in 0..<4 {
                guard index < bytes.count else { throw failure("4 hex digits") }
                let byte = bytes[index]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw failure("4 hex digits")
                }
                value = value << 4 | UInt16(digit)
                index += 1
            }
            return value
        }

        /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, returned as written.
        private mutating func number() throws(SyntaxError) -> String {
            let start = index
            if peek(UInt8(ascii: "-")) { index += 1 }
            if peek(UInt8(ascii: "0")) {
                index += 1
            } else if digits() == 0 {
                throw failure("a digit")
            }
            if peek(UInt8(ascii: ".")) {
                index += 1
                guard digits() > 0 else { throw failure(#"a digit after ".""#) }
            }
            if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
                index += 1
                if peek(UInt8(ascii: "+")) || peek(UInt8(ascii: "-")) { index += 1 }
                guard digits() > 0 else { throw failure("a digit in the exponent") }
            }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        private mutating func digits() -> Int {
            let start = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            return index - start
        }

        /// `true`, `false` or `null`; a mismatch is reported at the first byte that differs.
        private mutating func literal(_ word: StaticString, _ value: JSONValue) throws(SyntaxError) -> JSONValue {
            let expected = UnsafeRawBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
            for byte in expected {
                guard peek(byte) else { throw failure("\"\(word)\"") }
                index += 1
            }
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

        /// The offset of the first byte in `range` that does not start a valid UTF-8 sequence (overlong forms,
        /// encoded surrogates and scalars above U+10FFFF included), nil when the range is valid.
        private func firstInvalidUTF8(in range: Range<Int>) -> Int? {
            var parser = Unicode.UTF8.ForwardParser()
            var iterator = bytes[range].makeIterator()
            var offset = range.lowerBound
            while true {
                switch parser.parseScalar(from: &iterator) {
                case .valid(let encoded): offset += encoded.count
                case .emptyInput: return nil
                case .error: return offset
                }
            }
        }

        private func failure(_ expected: String) -> SyntaxError {
            SyntaxError(offset: index, expected: expected)
        }

        /// `unit` as four uppercase hex digits, as in `\uD800`.
        private static func hex(_ unit: UInt16) -> String {
            let digits = String(unit, radix: 16, uppercase: true)
            return String(repeating: "0", count: 4 - digits.count) + digits
        }
    }
}
