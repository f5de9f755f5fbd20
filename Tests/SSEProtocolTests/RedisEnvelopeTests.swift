import NIOCore
import SSEProtocol
import Testing

@Suite("The pub/sub message contract")
struct RedisEnvelopeTests {
    static let binary: [UInt8] = [0x00, 0x1E, 0x0A, 0x0D, 0xFF] + Array("sse1 1-0 x\n".utf8) + [0xC3, 0xA9]

    @Test func reliableEnvelopeRoundTripsBinaryData() throws {
        let id = EventID(milliseconds: 1_700_000_000_000, sequence: 3)
        let patch = try EventName(validating: "patch")
        let payload = RedisEnvelope.encodeReliable(id: id, event: patch, data: ByteBuffer(bytes: Self.binary))
        #expect(payload.allBytes == [0x1E] + utf8("sse1 1700000000000-3 patch\n") + Self.binary)
        #expect(
            RedisEnvelope.decode(payload) == ServerSentEvent(id: id, event: patch, data: ByteBuffer(bytes: Self.binary))
        )
    }

    @Test func reliableEnvelopeWithoutNameHasNoEvent() {
        let id = EventID(milliseconds: 5, sequence: 0)
        let payload = RedisEnvelope.encodeReliable(id: id, event: nil, data: ByteBuffer(string: "hello"))
        #expect(payload.allBytes == [0x1E] + utf8("sse1 5-0 \nhello"))
        #expect(RedisEnvelope.decode(payload) == ServerSentEvent(id: id, data: "hello"))
        let empty = RedisEnvelope.decode(ByteBuffer(bytes: [0x1E] + utf8("sse1 5-0 \n")))
        #expect(empty == ServerSentEvent(id: id, data: ""))
    }

    @Test func reliableDataIsASliceOfThePayloadNotACopy() {
        var payload = ByteBuffer(string: "ignored")
        payload.moveReaderIndex(forwardBy: 7)
        payload.writeBytes([0x1E] + utf8("sse1 9-9 e\nthe data"))
        let event = RedisEnvelope.decode(payload)
        #expect(String(buffer: event.data) == "the data")
        let payloadStorage = payload.withVeryUnsafeBytes { UInt(bitPattern: $0.baseAddress) }
        let dataStorage = event.data.withVeryUnsafeBytes { UInt(bitPattern: $0.baseAddress) }
        // The slice starts 7 + 12 bytes into the payload's storage: the ignored prefix, then the header.
        #expect(dataStorage == payloadStorage + 19)
    }

    @Test(arguments: [
        [0x1E] + utf8("sse1 x-0 \nhello"), [0x1E] + utf8("sse1 5-0  lead\nhello"), [0x1E] + utf8("sse1 5-0 no-newline"),
        [0x1E] + utf8("sse1 5-0"), [0x1E] + utf8("sse2 5-0 \nhello"), [0x1E] + utf8("sse1 -5-0 \nx"),
        [0x1E] + utf8("sse1 5-0 a\rb\nx"),
    ])
    func malformedEnvelopesAreVerbatimData(bytes: [UInt8]) {
        #expect(RedisEnvelope.decode(ByteBuffer(bytes: bytes)) == ServerSentEvent(data: ByteBuffer(bytes: bytes)))
    }

    @Test func jsonWithStringDataIsANamedEventWithoutID() throws {
        let named = RedisEnvelope.decode(ByteBuffer(string: #"{"event":"patch","data":"<li>hi</li>","other":1}"#))
        #expect(named == ServerSentEvent(event: try EventName(validating: "patch"), data: "<li>hi</li>"))
        let unnamed = RedisEnvelope.decode(ByteBuffer(string: " \n\t{\"data\":\"line1\\nline2 é\"}"))
        #expect(unnamed == ServerSentEvent(data: "line1\nline2 é"))
        let emptyName = RedisEnvelope.decode(ByteBuffer(string: #"{"data":"x","event":""}"#))
        #expect(emptyName == ServerSentEvent(data: "x"))
        let nullName = RedisEnvelope.decode(ByteBuffer(string: #"{"data":"x","event":null}"#))
        #expect(nullName == ServerSentEvent(data: "x"))
    }

    @Test(arguments: [
        #"{"data":42}"#, #"{"event":"x"}"#, #"["data","x"]"#, #"{"data":"x""#, #"{"data":"x","event":"a\nb"}"#,
        #"{"data":"x","event":5}"#, #"{"data":{"html":"x"}}"#, #"{"data":"x"} trailing"#, "",
    ])
    func otherPayloadsAreVerbatimData(text: String) {
        #expect(RedisEnvelope.decode(ByteBuffer(string: text)) == ServerSentEvent(data: ByteBuffer(string: text)))
    }

    @Test func plainTextIsVerbatimData() {
        let event = RedisEnvelope.decode(ByteBuffer(string: "hello"))
        #expect(event.id == nil)
        #expect(event.event == nil)
        #expect(event.data.allBytes == utf8("hello"))
    }
}
