import NIOCore
import SSEProtocol
import Testing

/// The raw clients' one reader: a response's head, its body without chunk framing, and the body's events, however
/// the bytes are split.
@Suite("Reading an event-stream response")
struct SSEResponseReaderTests {
    /// `text` as one chunk: its size in hex, CRLF, the bytes, CRLF.
    static func chunk(_ text: String) -> [UInt8] {
        utf8(String(text.utf8.count, radix: 16) + "\r\n" + text + "\r\n")
    }

    static let chunked =
        utf8(
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
                + "X-Note:  spaced value \t\r\n\r\n")
        + chunk(": connected to n1\n") + chunk("retry: 500\nid: 7\ndata: héllo\n\n") + utf8("0\r\n\r\n")

    static func read(_ bytes: [UInt8], splitEvery size: Int) -> (SSEResponseReader, [SSEDecoder.Parsed]) {
        var reader = SSEResponseReader()
        var items: [SSEDecoder.Parsed] = []
        var start = 0
        while start < bytes.count {
            let end = min(start + size, bytes.count)
            items += reader.read(ByteBuffer(bytes: Array(bytes[start..<end])))
            start = end
        }
        return (reader, items)
    }

    @Test(arguments: [1, 2, 7, 1000])
    func aChunkedStreamGivesItsHeadBodyAndEventsHoweverTheBytesAreSplit(size: Int) {
        let (reader, items) = Self.read(Self.chunked, splitEvery: size)
        #expect(reader.status == 200)
        #expect(reader.isChunked)
        #expect(reader.isComplete)
        #expect(reader.malformed == nil)
        #expect(reader.header("content-type") == "text/event-stream")
        #expect(reader.header("X-NOTE") == "spaced value")
        #expect(reader.header("Missing") == nil)
        #expect(reader.body == utf8(": connected to n1\n" + "retry: 500\nid: 7\ndata: héllo\n\n"))
        #expect(items == [.comment("connected to n1"), .retry(500), .event(id: "7", event: nil, data: "héllo")])
        #expect(reader.lastEventID == "7")
        #expect(reader.bytesRead == Self.chunked.count)
    }

    @Test func aStreamThatStopsBeforeItsLastChunkIsNotComplete() {
        let cut = Array(Self.chunked.dropLast("0\r\n\r\n".utf8.count))
        let (reader, items) = Self.read(cut, splitEvery: 5)
        #expect(reader.isChunked)
        #expect(!reader.isComplete)
        #expect(items.count == 3)
    }

    @Test func aCloseDelimitedBodyIsReadAsItIs() {
        let bytes = utf8("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\nevent: patch\ndata: x\n\n")
        let (reader, items) = Self.read(bytes, splitEvery: 3)
        #expect(!reader.isChunked)
        #expect(!reader.isComplete)
        #expect(items == [.event(id: nil, event: "patch", data: "x")])
    }

    @Test func aMalformedChunkSizeIsReportedOnceAndNothingMoreIsRead() throws {
        var reader = SSEResponseReader()
        let head = utf8("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        #expect(reader.read(ByteBuffer(bytes: head + utf8("5\r\ndata:\r\n"))).isEmpty)
        #expect(reader.malformed == nil)
        #expect(reader.read(ByteBuffer(bytes: utf8("zz\r\n"))).isEmpty)
        let malformed = try #require(reader.malformed)
        #expect(malformed.hasSuffix("(after \(head.count + 10) bytes)"))
        #expect(reader.read(ByteBuffer(bytes: utf8("3\r\n\n\n\n\r\n"))).isEmpty)
        #expect(reader.malformed == malformed)
    }
}
