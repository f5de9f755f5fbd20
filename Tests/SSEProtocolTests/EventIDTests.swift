import NIOCore
import SSEProtocol
import Testing

@Suite("Event ids")
struct EventIDTests {
    @Test(
        arguments: [
            ("0-0", 0, 0), ("1700000000000-0", 1_700_000_000_000, 0), ("1700000000000-42", 1_700_000_000_000, 42),
            ("18446744073709551615-18446744073709551615", UInt64.max, UInt64.max), ("007-01", 7, 1),
        ] as [(String, UInt64, UInt64)])
    func parsesMillisecondsAndSequence(text: String, milliseconds: UInt64, sequence: UInt64) throws {
        #expect(try EventID(parsing: text) == EventID(milliseconds: milliseconds, sequence: sequence))
    }

    @Test func formatsAsMillisecondsDashSequence() throws {
        #expect(EventID(milliseconds: 1_700_000_000_000, sequence: 42).description == "1700000000000-42")
        #expect(EventID(milliseconds: UInt64.max, sequence: 0).description == "18446744073709551615-0")
        #expect(try EventID(parsing: "1700000000000-42").description == "1700000000000-42")
    }

    @Test func parsesASubstringOfAHeader() throws {
        let header = "id=5-3;"
        let text = header.dropFirst(3).dropLast()
        #expect(try EventID(parsing: text) == EventID(milliseconds: 5, sequence: 3))
    }

    @Test func ordersByMillisecondsThenSequence() throws {
        let ids = try ["2-0", "1-10", "1-9", "10-0", "1-0"].map { try EventID(parsing: $0) }
        #expect(ids.sorted().map(\.description) == ["1-0", "1-9", "1-10", "2-0", "10-0"])
        #expect(EventID(milliseconds: 1, sequence: UInt64.max) < EventID(milliseconds: 2, sequence: 0))
    }

    @Test(arguments: [
        "", "x", "1", "1-", "-1", "1--2", "+1-0", "1-+0", "-1-0", " 1-0", "1-0 ", "1 -0", "1- 0", "1-2-3", "1.0-0",
        "18446744073709551616-0", "1-18446744073709551616", "99999999999999999999999-0",
        String(repeating: "0", count: 21) + "-" + String(repeating: "0", count: 20),
    ])
    func rejectsAnythingButTwoUnsignedNumbers(text: String) {
        #expect(throws: SSEProtocolError.malformedEventID(text)) { try EventID(parsing: text) }
    }

    @Test func malformedIDErrorShowsTheExpectedShape() {
        #expect(
            SSEProtocolError.malformedEventID("x").description
                == #"Last-Event-ID "x" is malformed: expected <milliseconds>-<sequence>, e.g. 1700000000000-0"#)
        #expect(
            SSEProtocolError.malformedEventID("1-0\r\nX: y").description
                == #"Last-Event-ID "1-0\r\nX: y" is malformed: "#
                + "expected <milliseconds>-<sequence>, e.g. 1700000000000-0"
        )
    }
}
