import PercentDecoding
import Testing

/// The one percent-decoder, in both of its modes: strict (the publisher's forms, the Redis URL) and repairing (the
/// gateway's query), with `+` as a space or as itself.
@Suite("Percent-decoding: escapes, plus signs, malformed escapes and UTF-8")
struct PercentDecoderTests {
    static func strict(_ text: String, plus: PercentDecoder.Plus = .space) throws(PercentDecodingError) -> String {
        try PercentDecoder.decode(text.utf8, plus: plus)
    }

    static func repairing(_ text: String, plus: PercentDecoder.Plus = .space) -> String {
        PercentDecoder.decodeRepairing(text.utf8, plus: plus)
    }

    @Test func escapesOfEitherCaseBecomeTheirBytesAndMultibyteUTF8IsAssembled() throws {
        #expect(try Self.strict("a%2Bb%3dc%26d") == "a+b=c&d")
        #expect(try Self.strict("J%C3%BCrgen") == "Jürgen")
        #expect(try Self.strict("%E2%82%AC%f0%9f%98%80") == "€😀")
        #expect(try Self.strict("%00%0D%0A") == "\u{0}\r\n")
        #expect(try Self.strict("") == "")
        // Bytes that need no decoding pass through, multibyte text included.
        #expect(try Self.strict("plain-ü") == "plain-ü")
        #expect(Self.repairing("J%C3%BCrgen+M") == "Jürgen M")
    }

    @Test func plusIsASpaceInFormsAndItselfElsewhere() throws {
        #expect(try Self.strict("a+b++c", plus: .space) == "a b  c")
        #expect(try Self.strict("a+b++c", plus: .literal) == "a+b++c")
        #expect(try Self.strict("%2B+", plus: .space) == "+ ")
        #expect(try Self.strict("%2B+", plus: .literal) == "++")
        #expect(Self.repairing("+", plus: .space) == " ")
        #expect(Self.repairing("+", plus: .literal) == "+")
    }

    @Test func strictDecodingRefusesAMalformedEscapeShowingWhatWasWritten() {
        #expect(throws: PercentDecodingError.malformedEscape("%G1")) { try Self.strict("a=%G1") }
        #expect(throws: PercentDecodingError.malformedEscape("%")) { try Self.strict("100%") }
        #expect(throws: PercentDecodingError.malformedEscape("%4")) { try Self.strict("x%4") }
        // Signs are not hexadecimal digits (a number parser would take `+F` and `-0`).
        #expect(throws: PercentDecodingError.malformedEscape("%+F")) { try Self.strict("%+F", plus: .literal) }
        #expect(throws: PercentDecodingError.malformedEscape("%-0")) { try Self.strict("%-0") }
        #expect("\(PercentDecodingError.malformedEscape("%G1"))" == #""%G1" is not a %XX escape"#)
    }

    @Test func strictDecodingRefusesBytesThatAreNotUTF8() {
        #expect(throws: PercentDecodingError.notUTF8) { try Self.strict("%C3") }
        #expect(throws: PercentDecodingError.notUTF8) { try Self.strict("%FF%FE") }
        #expect(throws: PercentDecodingError.notUTF8) { try PercentDecoder.decode([0x61, 0xC3], plus: .space) }
        #expect("\(PercentDecodingError.notUTF8)" == "the decoded bytes are not UTF-8")
    }

    @Test func repairingDecodingKeepsMalformedEscapesAndRepairsUTF8() {
        #expect(Self.repairing("100%") == "100%")
        #expect(Self.repairing("%G1%41") == "%G1A")
        #expect(Self.repairing("%%41") == "%A")
        #expect(Self.repairing("%4") == "%4")
        #expect(Self.repairing("a%C3") == "a\u{FFFD}")
        #expect(Self.repairing("%FFok") == "\u{FFFD}ok")
    }
}
