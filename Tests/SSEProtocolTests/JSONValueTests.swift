import Testing

@testable import SSEProtocol

@Suite("The strict, order-keeping JSON scanner")
struct JSONValueTests {
    @Test func keepsObjectMembersInDocumentOrder() throws {
        let value = try JSONValue.parse(
            #" { "zeta": 1, "alpha": [true, false, null], "mid": {"b": "x", "a": -0.5e+3} } "#)
        #expect(value.members?.map(\.key) == ["zeta", "alpha", "mid"])
        #expect(value["mid"]?.members?.map(\.key) == ["b", "a"])
        #expect(value.compactText == #"{"zeta":1,"alpha":[true,false,null],"mid":{"b":"x","a":-0.5e+3}}"#)
    }

    @Test func decodesEveryEscapeAndSurrogatePairs() throws {
        let value = try JSONValue.parse(#""q\" b\\ s\/ \b\f\n\r\t \u00e9 \ud83c\udf89 \u2028""#)
        #expect(value == .string("q\" b\\ s/ \u{08}\u{0C}\n\r\t é 🎉 \u{2028}"))
        // Re-encoded compactly: control characters and U+2028 escaped, `/` and non-ASCII as they are.
        #expect(value.compactText == #""q\" b\\ s/ \b\f\n\r\t é 🎉 \u2028""#)
    }

    @Test func keepsNumbersExactlyAsWritten() throws {
        let value = try JSONValue.parse("[0, -0, 12345678901234567890123, 1.50, 1E9, 2e-3, 2e+3]")
        #expect(value.compactText == "[0,-0,12345678901234567890123,1.50,1E9,2e-3,2e+3]")
        #expect(
            value
                == .array(["0", "-0", "12345678901234567890123", "1.50", "1E9", "2e-3", "2e+3"].map(JSONValue.number)))
    }

    @Test func readsTheSameFromTextRawBytesAndByteArrays() throws {
        let text = #" {"b": [1.50, -0, 2e+3, true, null], "a": "\u00e9\ud83c\udf89\n\/"} "#
        let expected = JSONValue.object([
            .init(key: "b", value: .array([.number("1.50"), .number("-0"), .number("2e+3"), .bool(true), .null])),
            .init(key: "a", value: .string("é🎉\n/")),
        ])
        #expect(try JSONValue.parse(text) == expected)
        #expect(try JSONValue.parse(bytes: Array(text.utf8)) == expected)
        #expect(try JSONValue.parse(bytes: text.utf8) == expected)
        #expect(try Array(text.utf8).withUnsafeBytes { try JSONValue.parse(bytes: $0) } == expected)
        #expect(expected.compactText == #"{"b":[1.50,-0,2e+3,true,null],"a":"é🎉\n/"}"#)
        #expect(expected["a"] == .string("é🎉\n/"))
        #expect(expected["c"] == nil)
        #expect(JSONValue.string("a")["a"] == nil)
        #expect(JSONValue.array([]).members == nil)
    }

    @Test(arguments: [
        ("", "malformed JSON at byte 0: expected a value"),
        (" \t\r\n", "malformed JSON at byte 4: expected a value"),
        ("{", "malformed JSON at byte 1: expected a member name in double quotes"),
        (#"{"a":1,}"#, "malformed JSON at byte 7: expected a member name in double quotes"),
        (#"{"topic":"news",}"#, "malformed JSON at byte 16: expected a member name in double quotes"),
        ("{a:1}", "malformed JSON at byte 1: expected a member name in double quotes"),
        ("[1,]", "malformed JSON at byte 3: expected a value"),
        ("[1 2]", #"malformed JSON at byte 3: expected "," or "]""#),
        ("[1", #"malformed JSON at byte 2: expected "," or "]""#),
        (#"{"a":1 "b":2}"#, #"malformed JSON at byte 7: expected "," or "}""#),
        (#"{"a" 1}"#, #"malformed JSON at byte 5: expected ":""#),
        ("01", "malformed JSON at byte 1: expected the end of the input"),
        (#"{"topic":"news"} x"#, "malformed JSON at byte 17: expected the end of the input"),
        ("{} {}", "malformed JSON at byte 3: expected the end of the input"),
        ("1.", #"malformed JSON at byte 2: expected a digit after ".""#),
        ("1.e5", #"malformed JSON at byte 2: expected a digit after ".""#),
        ("-", "malformed JSON at byte 1: expected a digit"),
        ("-a", "malformed JSON at byte 1: expected a digit"),
        ("1e", "malformed JSON at byte 2: expected a digit in the exponent"),
        ("1e+", "malformed JSON at byte 3: expected a digit in the exponent"),
        ("+1", "malformed JSON at byte 0: expected a value"),
        (".5", "malformed JSON at byte 0: expected a value"),
        ("tru", #"malformed JSON at byte 3: expected "true""#),
        ("nope", #"malformed JSON at byte 1: expected "null""#),
        ("falsy", #"malformed JSON at byte 4: expected "false""#),
        ("True", "malformed JSON at byte 0: expected a value"),
        ("// comment\n1", "malformed JSON at byte 0: expected a value"),
        (#"{"a":1,"a":2}"#, #"malformed JSON at byte 7: expected a new member name, not a second "a""#),
        ("\"tab\there\"", "malformed JSON at byte 4: expected no control character inside a string (escape it)"),
        ("\"a\u{01}\"", "malformed JSON at byte 2: expected no control character inside a string (escape it)"),
        (#""\x""#, #"malformed JSON at byte 2: expected one of " \ / b f n r t u after a backslash"#),
        (#""\"#, "malformed JSON at byte 2: expected an escape character"),
        (#""\u12G4""#, "malformed JSON at byte 5: expected 4 hex digits"),
        (#""\u12"#, "malformed JSON at byte 5: expected 4 hex digits"),
        (#""\ud800""#, #"malformed JSON at byte 7: expected a low surrogate escape after \uD800"#),
        (#"{"topic":"a\ud800"}"#, #"malformed JSON at byte 17: expected a low surrogate escape after \uD800"#),
        (#""\ud800\n""#, #"malformed JSON at byte 8: expected a low surrogate escape after \uD800"#),
        (#""\ud800\u0041""#, #"malformed JSON at byte 13: expected a low surrogate (\uDC00–\uDFFF)"#),
        (#""\udc00""#, "malformed JSON at byte 7: expected no lone low surrogate"),
        (#""\udc00x""#, "malformed JSON at byte 7: expected no lone low surrogate"),
        (#""open"#, "malformed JSON at byte 5: expected a closing double quote"),
    ])
    func rejectsWhatRFC8259Rejects(text: String, message: String) {
        let error = #expect(throws: JSONValue.SyntaxError.self) { try JSONValue.parse(text) }
        #expect(error?.description == message)
    }

    /// Invalid UTF-8 is refused, not repaired, at the byte where it starts, even when a later problem stopped the scan.
    @Test(
        arguments: [
            ([0x22, 0x61, 0xFF, 0x22], 2),  // a byte that never occurs in UTF-8
            ([0x22, 0xC0, 0xAF, 0x22], 1),  // an overlong "/"
            ([0x22, 0x80, 0x22], 1),  // a lone continuation byte
            ([0x22, 0xE2, 0x82, 0x22], 1),  // a sequence cut short by the closing quote
            ([0x22, 0xED, 0xA0, 0x80, 0x22], 1),  // an encoded surrogate (U+D800)
            ([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], 1),  // above U+10FFFF
            ([0x22, 0x61, 0xC3, 0x5C, 0x6E, 0x22], 2),  // a sequence cut short by an escape
            ([0x22, 0x5C, 0x6E, 0xFF, 0x22], 3),  // after an escape
            ([0x22, 0xFF, 0x01, 0x22], 1),  // before a control character
            ([0x22, 0x61, 0xFF], 2),  // in an unterminated string
            ([0x5B, 0xC3, 0xA9, 0x5D], 1),  // outside a string: not a value
        ] as [([UInt8], Int)])
    func rejectsInvalidUTF8WhereItStarts(bytes: [UInt8], offset: Int) {
        let expected = bytes.first == 0x22 ? "valid UTF-8" : "a value"
        #expect(throws: JSONValue.SyntaxError(offset: offset, expected: expected)) {
            try JSONValue.parse(bytes: bytes)
        }
        #expect(throws: JSONValue.SyntaxError(offset: offset, expected: expected)) {
            try bytes.withUnsafeBytes { try JSONValue.parse(bytes: $0) }
        }
    }

    @Test func acceptsEveryValidUTF8Length() throws {
        let text = "\"a é € 🎉 \u{10FFFF}\""
        #expect(try JSONValue.parse(bytes: Array(text.utf8)) == .string("a é € 🎉 \u{10FFFF}"))
    }

    @Test func limitsNestingDepth() throws {
        let limit = JSONValue.ParsingOptions().maximumDepth
        #expect(limit == 256)
        let deepest = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        #expect(throws: Never.self) { try JSONValue.parse(deepest) }
        let deepestObject = String(repeating: #"{"a":"#, count: limit) + "1" + String(repeating: "}", count: limit)
        #expect(throws: Never.self) { try JSONValue.parse(deepestObject) }
        let tooDeep = String(repeating: "[", count: limit + 1)
        #expect(throws: JSONValue.SyntaxError(offset: 256, expected: "at most 256 nested levels")) {
            try JSONValue.parse(tooDeep)
        }
        let tooDeepObject = String(repeating: #"{"a":"#, count: limit + 1)
        #expect(throws: JSONValue.SyntaxError(offset: 5 * 256, expected: "at most 256 nested levels")) {
            try JSONValue.parse(tooDeepObject)
        }
    }

    @Test func limitsNestingToTheDepthAskedFor() throws {
        let options = JSONValue.ParsingOptions(maximumDepth: 64)
        let deepest = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try JSONValue.parse(deepest, options: options) }
        let tooDeep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        let error = #expect(throws: JSONValue.SyntaxError.self) { try JSONValue.parse(tooDeep, options: options) }
        #expect(error?.description == "malformed JSON at byte 64: expected at most 64 nested levels")
        // Closing a level makes room again: depth is nesting, not a count of brackets.
        let siblings = Array(repeating: deepest, count: 3).joined(separator: ",")
        #expect(throws: Never.self) { try JSONValue.parse("[" + siblings + "]", options: .init(maximumDepth: 65)) }
    }

    @Test func findsDuplicatesInLargeObjectsToo() {
        let members = (0..<20).map { "\"k\($0)\":\($0)" } + ["\"k3\":0"]
        #expect(throws: JSONValue.SyntaxError(offset: 161, expected: #"a new member name, not a second "k3""#)) {
            try JSONValue.parse("{" + members.joined(separator: ",") + "}")
        }
        // The same names in different objects are not duplicates.
        #expect(throws: Never.self) { try JSONValue.parse(#"{"a":{"a":1},"b":[{"a":2},{"a":3}]}"#) }
    }

    @Test func keepsRepeatedNamesInOrderWhenAskedTo() throws {
        let options = JSONValue.ParsingOptions(duplicateMembers: .keep)
        let small = try JSONValue.parse(#"{"a":1,"b":2,"a":3}"#, options: options)
        #expect(small.members?.map(\.key) == ["a", "b", "a"])
        #expect(small["a"] == .number("1"))
        #expect(small.compactText == #"{"a":1,"b":2,"a":3}"#)
        let members = (0..<20).map { "\"k\($0)\":\($0)" } + ["\"k3\":0"]
        let large = try JSONValue.parse("{" + members.joined(separator: ",") + "}", options: options)
        #expect(large.members?.count == 21)
        #expect(large["k3"] == .number("3"))
    }

    @Test func equalityComparesMembersInOrder() {
        let ab = JSONValue.object([.init(key: "a", value: .null), .init(key: "b", value: .bool(true))])
        let ba = JSONValue.object([.init(key: "b", value: .bool(true)), .init(key: "a", value: .null)])
        #expect(ab != ba)
        #expect(ab == JSONValue.object([.init(key: "a", value: .null), .init(key: "b", value: .bool(true))]))
        #expect(JSONValue.number("1.50") != .number("1.5"))
    }
}
