extension JSONValue {
    /// What a parse accepts beyond RFC 8259's grammar: how deep values may nest and whether names may repeat.
    public struct ParsingOptions: Sendable, Equatable {
        /// What to do with an object that names a member twice (RFC 8259 leaves it to the reader).
        public enum DuplicateMembers: Sendable, Equatable {
            /// Fail with a ``SyntaxError`` at the second name.
            case reject
            /// Keep every member in order; the caller decides (``JSONValue/subscript(key:)`` finds the first).
            case keep
        }

        /// Deepest nesting of arrays and objects accepted (default 256); the scanner recurses once per level.
        public var maximumDepth: Int
        /// Repeated member names are rejected by default.
        public var duplicateMembers: DuplicateMembers

        /// Options with the defaults: 256 levels, repeated names rejected.
        public init(maximumDepth: Int = 256, duplicateMembers: DuplicateMembers = .reject) {
            self.maximumDepth = maximumDepth
            self.duplicateMembers = duplicateMembers
        }
    }

    /// Why a text is not JSON: the byte offset where reading stopped and what was expected there.
    ///
    /// The description is one line, e.g. `malformed JSON at byte 16: expected a member name in double quotes`.
    public struct SyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
        /// 0-based offset in the UTF-8 input.
        public var offset: Int
        /// What would have been valid there, e.g. `a value` or `"," or "}"`.
        public var expected: String

        /// A syntax error at `offset` that names what was `expected` there.
        public init(offset: Int, expected: String) {
            self.offset = offset
            self.expected = expected
        }

        /// `malformed JSON at byte N: expected …`.
        public var description: String { "malformed JSON at byte \(offset): expected \(expected)" }
    }

    /// Parses one JSON document (whitespace around the value allowed).
    public static func parse(
        _ text: String, options: ParsingOptions = ParsingOptions()
    ) throws(SyntaxError) -> JSONValue {
        var text = text
        let result: Result<JSONValue, SyntaxError> = text.withUTF8 { bytes in
            Result { () throws(SyntaxError) in try parse(bytes: UnsafeRawBufferPointer(bytes), options: options) }
        }
        return try result.get()
    }

    /// Parses one JSON document from UTF-8 bytes without copying them.
    public static func parse(
        bytes: UnsafeRawBufferPointer, options: ParsingOptions = ParsingOptions()
    ) throws(SyntaxError) -> JSONValue {
        var scanner = Scanner(bytes: bytes, options: options)
        return try scanner.document()
    }

    /// Parses one JSON document from UTF-8 bytes held in any collection (copied once if not contiguous).
    public static func parse(
        bytes: some Collection<UInt8>, options: ParsingOptions = ParsingOptions()
    ) throws(SyntaxError) -> JSONValue {
        let result: Result<JSONValue, SyntaxError>? = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(SyntaxError) in try parse(bytes: UnsafeRawBufferPointer(buffer), options: options) }
        }
        if let result { return try result.get() }
        return try parse(bytes: Array(bytes), options: options)
    }
}
