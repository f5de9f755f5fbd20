import NIOCore
import SSEProtocol
import Testing

@Suite("Control messages and topic tags")
struct ControlMessageTests {
    @Test func anEndMessageParsesAndRoundTrips() throws {
        let parsed = try ControlMessage(parsing: ByteBuffer(string: #"{"end":{"topic":"jobs.42","reason":"done"}}"#))
        #expect(parsed == .end(topic: try Topic(validating: "jobs.42"), reason: "done"))
        #expect(try ControlMessage(parsing: ByteBuffer(string: parsed.payload)) == parsed)
        let withoutReason = try ControlMessage(parsing: ByteBuffer(string: #"{"end":{"topic":"t"}}"#))
        #expect(withoutReason == .end(topic: try Topic(validating: "t"), reason: "ended"))
        let quoted = ControlMessage.end(topic: try Topic(validating: "t"), reason: #"say "hi" </script>"#)
        #expect(try ControlMessage(parsing: ByteBuffer(string: quoted.payload)) == quoted)
    }

    @Test func badControlMessagesAreRefusedWithOneLineReasons() {
        let cases: [(String, String)] = [
            ("nope", #"control message is invalid: malformed JSON at byte 1: expected "null""#),
            (#"{"stop":{}}"#, #"control message is invalid: expected an object with one member, "end""#),
            (#"{"end":{"topic":5}}"#, #"control message is invalid: "end" needs a string "topic""#),
            (#"{"end":{"topic":"t","reason":1}}"#, #"control message is invalid: "reason" must be a string"#),
        ]
        for (payload, message) in cases {
            #expect(throws: InvalidControlMessage(exactly: message), "\(payload)") {
                try ControlMessage(parsing: ByteBuffer(string: payload))
            }
        }
        #expect(throws: InvalidControlMessage.self) {
            try ControlMessage(parsing: ByteBuffer(string: #"{"end":{"topic":"a b"}}"#))
        }
        #expect(throws: InvalidControlMessage.self) { try ControlMessage.validReason("two\nlines") }
        #expect(throws: InvalidControlMessage.self) {
            try ControlMessage.validReason(String(repeating: "x", count: 201))
        }
    }

    @Test func taggingPutsTheTopicFirstInEveryEventOfAFrame() throws {
        let topic = try Topic(validating: "board")
        let frame = ByteBuffer(
            string: "id: 1-0\nevent: a\ndata: x\ndata: y\n\nevent: b\ndata: \n\n: comment\n\nretry: 5\n\n")
        #expect(
            String(buffer: SSEEncoder.tagging(frame, with: topic))
                == "id: 1-0\nevent: a\ndata: board\ndata: x\ndata: y\n\nevent: b\ndata: board\ndata: \n\n"
                + ": comment\n\nretry: 5\n\n")
    }
}
