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
        let value = try JSONValue.parse("[0, -0, 12345678901234567890123, 1.50, 1E9, 2e-3]")
        #expect(value.compactText == "[0,-0,12345678901234567890123,1.50,1E9,2e-3]")
    }

    @Test(arguments: [
        ("", "unexpected end of input, expected a value at byte 0"),
        ("{", "unexpected end of input, expected a member name at byte 1"),
        (#"{"a":1,}"#, "unexpected '}', expected a member name at byte 7"),
        ("[1,]", "unexpected ']', expected a value at byte 3"),
        ("[1 2]", "unexpected '2', expected ',' or ']' at byte 3"),
        ("01", "unexpected '1' after the value at byte 1"),
        ("1.", "malformed number at byte 0"),
        ("-", "malformed number at byte 0"),
        ("+1", "unexpected '+', expected a value at byte 0"),
        (#"{"a" 1}"#, "unexpected '1', expected ':' at byte 5"),
        (#"{"a":1,"a":2}"#, #"duplicate member "a" at byte 7"#),
        ("\"tab\there\"", "control character U+0009 in a string (escape it) at byte 4"),
        (#""\ud800""#, "lone surrogate escape at byte 1"),
        (#""\udc00x""#, "lone surrogate escape at byte 1"),
        (#""\x""#, "invalid escape in a string at byte 1"),
        (#""\u12G4""#, #"invalid \u escape at byte 1"#),
        (#""open"#, "unterminated string at byte 0"),
        ("tru", "unexpected 't', expected a value at byte 0"),
        ("// comment\n1", "unexpected '/', expected a value at byte 0"),
        ("{} {}", "unexpected '{' after the value at byte 3"),
    ])
    func rejectsWhatRFC8259Rejects(text: String, message: String) {
        let error = #expect(throws: JSONValue.SyntaxError.self) { try JSONValue.parse(text) }
        #expect(error?.description == message)
    }

    @Test func rejectsInvalidUTF8InsideStrings() {
        let bytes: [UInt8] = [0x22, 0x61, 0xFF, 0x22]
        #expect(throws: JSONValue.SyntaxError(offset: 0, reason: "string is not valid UTF-8")) {
            try bytes.withUnsafeBytes { try JSONValue.parse(bytes: $0) }
        }
    }

    @Test func limitsNestingDepth() throws {
        let deepest = String(repeating: "[", count: JSONValue.maximumDepth) + String(repeating: "]", count: 256)
        #expect(throws: Never.self) { try JSONValue.parse(deepest) }
        let tooDeep = String(repeating: "[", count: JSONValue.maximumDepth + 1)
        #expect(throws: JSONValue.SyntaxError(offset: 256, reason: "nesting deeper than 256 levels")) {
            try JSONValue.parse(tooDeep)
        }
    }

    @Test func findsDuplicatesInLargeObjectsToo() {
        let members = (0..<20).map { "\"k\($0)\":\($0)" } + ["\"k3\":0"]
        #expect(throws: JSONValue.SyntaxError(offset: 161, reason: #"duplicate member "k3""#)) {
            try JSONValue.parse("{" + members.joined(separator: ",") + "}")
        }
    }
}
