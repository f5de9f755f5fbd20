import NIOCore
import SSEProtocol
import Testing

@Suite("Encoding SSE frames")
struct SSEEncoderTests {
    static func frame(_ event: ServerSentEvent) -> [UInt8] {
        var buffer = ByteBuffer()
        SSEEncoder.event(event, into: &buffer)
        return buffer.allBytes
    }

    static let patch = try! EventName(validating: "patch")

    @Test func writesIdEventAndOneDataLinePerLineWhateverTheLineBreak() {
        let event = ServerSentEvent(
            id: EventID(milliseconds: 1_700_000_000_000, sequence: 7), event: Self.patch, data: "a\r\nb\rc\nd")
        #expect(
            Self.frame(event)
                == utf8("id: 1700000000000-7\nevent: patch\ndata: a\ndata: b\ndata: c\ndata: d\n\n"))
    }

    @Test(arguments: [
        ("hello", "data: hello\n\n"),
        ("", "data: \n\n"),
        ("a\n", "data: a\ndata: \n\n"),
        ("a\r\n", "data: a\ndata: \n\n"),
        ("a\r", "data: a\ndata: \n\n"),
        ("\n", "data: \ndata: \n\n"),
        ("\r\n\r\n", "data: \ndata: \ndata: \n\n"),
        ("\n\r", "data: \ndata: \ndata: \n\n"),
        ("\r\r\n", "data: \ndata: \ndata: \n\n"),
        (" lead", "data:  lead\n\n"),
        ("data: x\n\nid: 9", "data: data: x\ndata: \ndata: id: 9\n\n"),
    ])
    func splitsDataOnCRLFAndLoneCRAndLoneLF(data: String, frame: String) {
        #expect(Self.frame(ServerSentEvent(data: data)) == utf8(frame))
    }

    @Test func passesNonASCIIAndInvalidUTF8BytesThroughUntouched() {
        let data: [UInt8] = [0xC3, 0xA9, 0xFF, 0x00, 0x80, 0x0A, 0xE2, 0x82]
        let frame = Self.frame(ServerSentEvent(data: ByteBuffer(bytes: data)))
        #expect(
            frame == utf8("data: ") + [0xC3, 0xA9, 0xFF, 0x00, 0x80] + utf8("\ndata: ") + [0xE2, 0x82] + utf8("\n\n"))
        let named = Self.frame(ServerSentEvent(event: try! EventName(validating: "änderung"), data: "ü"))
        #expect(named == utf8("event: änderung\ndata: ü\n\n"))
    }

    @Test func appendsAfterWhatTheBufferAlreadyHolds() {
        var buffer = ByteBuffer(string: "retry: 1\n\n")
        SSEEncoder.event(ServerSentEvent(id: EventID(milliseconds: UInt64.max, sequence: 0), data: "x"), into: &buffer)
        SSEEncoder.event(ServerSentEvent(data: "y"), into: &buffer)
        #expect(buffer.allBytes == utf8("retry: 1\n\nid: 18446744073709551615-0\ndata: x\n\ndata: y\n\n"))
        #expect(SSEEncoder.encode(ServerSentEvent(data: "z")).allBytes == utf8("data: z\n\n"))
    }

    @Test(arguments: [(3000, "retry: 3000\n\n"), (0, "retry: 0\n\n"), (-5, "retry: 0\n\n")])
    func writesRetryInMilliseconds(milliseconds: Int, frame: String) {
        var buffer = ByteBuffer()
        SSEEncoder.retry(milliseconds: milliseconds, into: &buffer)
        #expect(buffer.allBytes == utf8(frame))
    }

    @Test(arguments: [("keep-alive", ": keep-alive\n\n"), ("a\r\nb\nc\rd", ": a  b c d\n\n"), ("", ": \n\n")])
    func writesCommentsOnOneLine(text: String, frame: String) {
        var buffer = ByteBuffer()
        SSEEncoder.comment(text, into: &buffer)
        #expect(buffer.allBytes == utf8(frame))
    }
}
