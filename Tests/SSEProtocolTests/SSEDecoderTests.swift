import NIOCore
import SSEProtocol
import Testing

@Suite("Decoding an event stream")
struct SSEDecoderTests {
    static func parse(_ chunks: [[UInt8]]) -> (items: [SSEDecoder.Parsed], lastEventID: String) {
        var decoder = SSEDecoder()
        var items: [SSEDecoder.Parsed] = []
        for chunk in chunks {
            decoder.feed(chunk)
            items += decoder.drain()
        }
        return (items, decoder.lastEventID)
    }

    static func parse(_ text: String) -> [SSEDecoder.Parsed] { parse([utf8(text)]).items }

    @Test func joinsDataLinesWithLineFeeds() {
        #expect(Self.parse("data: YHOO\ndata: +2\ndata: 10\n\n") == [.event(id: nil, event: nil, data: "YHOO\n+2\n10")])
    }

    @Test func readsIdAndEventNameOfTheBlock() {
        let items = Self.parse("id: 5-1\nevent: patch\ndata: x\n\ndata: y\n\n")
        #expect(items == [.event(id: "5-1", event: "patch", data: "x"), .event(id: nil, event: nil, data: "y")])
    }

    @Test func acceptsCRLFAndLoneCRLineEndings() {
        #expect(Self.parse("data: a\r\ndata: b\r\n\r\n") == [.event(id: nil, event: nil, data: "a\nb")])
        #expect(Self.parse("data: a\rdata: b\r\r") == [.event(id: nil, event: nil, data: "a\nb")])
    }

    @Test func aCRAtTheEndOfAChunkAndAnLFAtTheStartOfTheNextAreOneLineBreak() {
        let parsed = Self.parse([utf8("data: a\r"), utf8("\ndata: b\r"), utf8("\n\r"), utf8("\n")])
        #expect(parsed.items == [.event(id: nil, event: nil, data: "a\nb")])
    }

    @Test func stripsOnlyOneSpaceAfterTheColon() {
        #expect(
            Self.parse("data:  two\n\ndata:none\n\n") == [
                .event(id: nil, event: nil, data: " two"), .event(id: nil, event: nil, data: "none"),
            ])
    }

    @Test func aFieldWithoutColonHasAnEmptyValue() {
        #expect(Self.parse("data\ndata\n\n") == [.event(id: nil, event: nil, data: "\n")])
    }

    @Test func skipsAByteOrderMarkAtTheStartOnlyEvenWhenSplit() {
        let parsed = Self.parse([
            [0xEF], [0xBB], [0xBF] + utf8("data: x\n\n"), [0xEF, 0xBB, 0xBF] + utf8("data: y\n\n"),
        ])
        // The second mark is part of a field name ("\u{FEFF}data"), which is unknown and ignored.
        #expect(parsed.items == [.event(id: nil, event: nil, data: "x")])
    }

    @Test func aBlockWithoutDataIsNotDispatchedButItsIdIsKept() {
        let parsed = Self.parse([utf8("id: 7-0\nevent: ignored\n\n")])
        #expect(parsed.items == [])
        #expect(parsed.lastEventID == "7-0")
        let next = Self.parse([utf8("id: 7-0\n\ndata: x\n\n")])
        #expect(next.items == [.event(id: nil, event: nil, data: "x")])
        #expect(next.lastEventID == "7-0")
    }

    @Test func anIdContainingNULIsIgnored() {
        let parsed = Self.parse([utf8("id: 1-0\n\nid: 2\0-0\ndata: x\n\n")])
        #expect(parsed.items == [.event(id: nil, event: nil, data: "x")])
        #expect(parsed.lastEventID == "1-0")
    }

    @Test func reportsRetryWithOnlyDigitsAndComments() {
        #expect(
            Self.parse("retry: 1500\nretry: 15x\nretry:\n: hello\n:\n") == [
                .retry(1500), .comment("hello"), .comment(""),
            ])
    }

    @Test func anUnterminatedEventIsNotDispatched() {
        var decoder = SSEDecoder()
        decoder.feed(ByteBuffer(string: "data: x\n"))
        #expect(decoder.next() == nil)
        decoder.feed(ByteBuffer(string: "\n"))
        #expect(decoder.next() == .event(id: nil, event: nil, data: "x"))
        #expect(decoder.next() == nil)
    }
}
