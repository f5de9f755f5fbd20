import NIOCore
import NIOEmbedded
import SSEProtocol
import Testing

@testable import Gateway

/// An HTTP/1.0 stream's pipeline turns the chunked frames back into a close-delimited body, byte for byte.
@Suite("Unchunking handler: chunked frames to a close-delimited body")
struct UnchunkingHandlerTests {
    @Test func theHeadPassesAndEachChunkLosesItsFraming() throws {
        let channel = EmbeddedChannel(handler: UnchunkingHandler())
        var first = ByteBuffer(string: "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        first.writeImmutableBuffer(HTTPChunk.wrap(ByteBuffer(string: "retry: 2000\n\n")))
        try channel.writeOutbound(first)
        var joined = HTTPChunk.wrap(ByteBuffer(string: "id: 1-0\ndata: a\n\n"))
        joined.writeImmutableBuffer(HTTPChunk.wrap(ByteBuffer(string: "data: b\n\n")))
        try channel.writeOutbound(joined)
        var last = HTTPChunk.wrap(ByteBuffer(string: "event: end\ndata: {}\n\n"))
        last.writeImmutableBuffer(HTTPChunk.last)
        try channel.writeOutbound(last)
        var written: [String] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { written.append(String(buffer: buffer)) }
        #expect(
            written == [
                "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", "retry: 2000\n\n", "id: 1-0\ndata: a\n\n",
                "data: b\n\n", "event: end\ndata: {}\n\n",
            ])
    }

    @Test func chunksOfEverySizeRoundTrip() throws {
        for size in [1, 15, 16, 255, 256, 4095, 65_536, 1_000_003] {
            let payload = ByteBuffer(bytes: (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) })
            let chunk = HTTPChunk.wrap(payload)
            let text = String(buffer: chunk)
            let sizeLine = String(decoding: text.utf8.prefix { $0 != 13 }, as: UTF8.self)
            #expect(sizeLine == String(size, radix: 16), "size \(size)")
            #expect(HTTPChunk.payloads(of: chunk) == [payload], "size \(size)")
        }
        #expect(HTTPChunk.wrap(ByteBuffer()).readableBytes == 0)  // never a zero-size chunk, which would end the body
        #expect(HTTPChunk.payloads(of: ByteBuffer(string: "5\r\nabc\r\n")) == nil)
        #expect(HTTPChunk.payloads(of: ByteBuffer(string: "zz\r\n")) == nil)
    }
}
