import NIOCore
import SSEProtocol
import Testing

@Suite("Event names and events")
struct EventNameTests {
    @Test(arguments: ["patch", "datastar-patch-elements", "a b", "x:y", String(repeating: "é", count: 32)])
    func acceptsOneLineNamesUpTo64Bytes(name: String) throws {
        #expect(try EventName(validating: name).value == name)
    }

    @Test(arguments: [
        "", "a\nb", "a\rb", "a\r\nb", "a\0b", " a", "a ", String(repeating: "x", count: 65),
        String(repeating: "é", count: 33),
    ])
    func rejectsEmptyMultiLineOrPaddedNames(name: String) {
        #expect(throws: SSEProtocolError.invalidEventName(name)) { try EventName(validating: name) }
    }

    @Test func invalidNameErrorNamesTheRules() {
        #expect(
            SSEProtocolError.invalidEventName("a\nb").description
                == #"event name "a\nb" is invalid: use 1–64 bytes of text without CR, LF or NUL and without "#
                + "leading or trailing spaces")
    }

    @Test func validatingInitializerChecksTheName() throws {
        let event = try ServerSentEvent(
            id: EventID(milliseconds: 1, sequence: 2), validatingEvent: "patch", data: ByteBuffer(string: "x"))
        #expect(event.event == "patch")
        #expect(event.id == EventID(milliseconds: 1, sequence: 2))
        #expect(try ServerSentEvent(validatingEvent: nil, data: ByteBuffer()).event == nil)
        #expect(throws: SSEProtocolError.invalidEventName("a\rb")) {
            try ServerSentEvent(validatingEvent: "a\rb", data: ByteBuffer())
        }
    }
}
