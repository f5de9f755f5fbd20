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

    @Test func revokeMessagesParseAndRoundTrip() throws {
        let subject = try ControlMessage(
            parsing: ByteBuffer(string: #"{"revoke":{"subject":"42","at":1767225600,"reason":"signed out"}}"#))
        #expect(
            subject == .revoke(.init(target: .subject("42"), at: 1_767_225_600, until: nil, reason: "signed out")))
        #expect(subject.payload == #"{"revoke":{"subject":"42","at":1767225600,"reason":"signed out"}}"#)
        let token = try ControlMessage(parsing: ByteBuffer(string: #"{"revoke":{"token":"j-1","until":1767229200.5}}"#))
        #expect(token == .revoke(.init(target: .token("j-1"), until: 1_767_229_200.5)))
        #expect(try ControlMessage(parsing: ByteBuffer(string: token.payload)) == token)
        let topic = try ControlMessage(parsing: ByteBuffer(string: #"{"revoke":{"topic":"user.42"}}"#))
        #expect(topic == .revoke(.init(target: .topic(try Topic(validating: "user.42")))))
        #expect(topic.payload == #"{"revoke":{"topic":"user.42","reason":"revoked"}}"#)
    }

    @Test func badControlMessagesAreRefusedWithOneLineReasons() {
        let cases: [(String, String)] = [
            ("nope", #"control message is invalid: malformed JSON at byte 1: expected "null""#),
            (#"{"stop":{}}"#, #"control message is invalid: expected an object with one member, "end" or "revoke""#),
            (
                #"{"revoke":{"subject":"42","token":"t"}}"#,
                #"control message is invalid: "revoke" needs exactly one of "subject", "token" or "topic""#
            ),
            (
                #"{"revoke":{}}"#,
                #"control message is invalid: "revoke" needs exactly one of "subject", "token" or "topic""#
            ),
            (#"{"revoke":{"subject":42}}"#, #"control message is invalid: "subject" must be a string"#),
            (#"{"revoke":{"token":""}}"#, #"control message is invalid: "token" must have 1–256 characters"#),
            (#"{"revoke":{"token":"t","until":"soon"}}"#, #"control message is invalid: "until" must be Unix seconds"#),
            (#"{"revoke":{"token":"t","at":-1}}"#, #"control message is invalid: "at" must be Unix seconds"#),
            (#"{"revoke":[]}"#, #"control message is invalid: "revoke" must be an object"#),
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
