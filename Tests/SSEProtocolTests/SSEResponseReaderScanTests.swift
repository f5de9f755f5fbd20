import LocalRedis
import NIOCore
import SSEProtocol
import Testing

/// The lean reading of a response (`SSEResponseReader.scan`, the load generator's): every line handed on exactly,
/// wherever the reads split the bytes, and the same events as the String reading of the same bytes.
@Suite("Scanning an event-stream response without building events")
struct SSEResponseReaderScanTests {
    /// A piece as the test keeps it: the bytes copied out of the call.
    enum Seen: Equatable, CustomStringConvertible {
        case head(Int)
        case field([UInt8], [UInt8])
        case comment([UInt8])
        case blank

        static func field(_ name: String, _ value: String) -> Seen { .field(utf8(name), utf8(value)) }
        static func comment(_ text: String) -> Seen { .comment(utf8(text)) }

        var description: String {
            switch self {
            case .head(let status): "head(\(status))"
            case .field(let name, let value): "field(\(Self.text(name)), \(Self.text(value)))"
            case .comment(let text): "comment(\(Self.text(text)))"
            case .blank: "blank"
            }
        }

        private static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self).debugDescription }
    }

    /// Scans `bytes` in reads that end at `cuts` (offsets, ascending).
    static func scan(_ bytes: [UInt8], cuts: [Int]) -> (SSEResponseReader, [Seen]) {
        var reader = SSEResponseReader()
        var seen: [Seen] = []
        var start = 0
        for end in cuts + [bytes.count] where end >= start {
            reader.scan(ByteBuffer(bytes: Array(bytes[start..<end]))) { piece in
                switch piece {
                case .head(let status): seen.append(.head(status))
                case .field(let name, let value): seen.append(.field(Array(name), Array(value)))
                case .comment(let text): seen.append(.comment(Array(text)))
                case .blank: seen.append(.blank)
                }
            }
            start = end
        }
        return (reader, seen)
    }

    /// Every way to cut `bytes` into two reads, and into reads of one byte each.
    static func everySplit(of bytes: [UInt8]) -> [[Int]] {
        (0...bytes.count).map { [$0] } + [Array(1..<bytes.count)]
    }

    static let chunkedHead = utf8(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")

    @Test func aChunkedStreamHandsOnEveryLineExactlyWhereverTheReadsSplitIt() {
        let bytes =
            Self.chunkedHead + SSEResponseReaderTests.chunk(": connected to n1\n")
            + SSEResponseReaderTests.chunk("retry: 500\nid: 7\ndata: héllo\n\n")
            + SSEResponseReaderTests.chunk("data:seq=1 t=2 \ndata\n\n") + utf8("0\r\n\r\n")
        let expected: [Seen] = [
            .head(200), .comment("connected to n1"), .field("retry", "500"), .field("id", "7"), .field("data", "héllo"),
            .blank, .field("data", "seq=1 t=2 "), .field("data", ""), .blank,
        ]
        for cuts in Self.everySplit(of: bytes) {
            let (reader, seen) = Self.scan(bytes, cuts: cuts)
            #expect(seen == expected, "cut at \(cuts.prefix(3))")
            #expect(reader.status == 200)
            #expect(reader.isChunked && reader.isComplete)
            #expect(reader.malformed == nil)
            #expect(reader.body.isEmpty)
            #expect(reader.bytesRead == bytes.count)
        }
    }

    @Test func linesEndAtLFCROrCRLFAlsoWhenAReadFallsBetweenTheCRAndTheLF() {
        let bytes = utf8("HTTP/1.1 200 OK\r\n\r\ndata:a\r\rdata: b\r\n\r\n:c\n:  d\r\nid\n\ndata: x:y\r")
        let expected: [Seen] = [
            .head(200), .field("data", "a"), .blank, .field("data", "b"), .blank, .comment("c"), .comment(" d"),
            .field("id", ""), .blank, .field("data", "x:y"),
        ]
        for cuts in Self.everySplit(of: bytes) {
            let (reader, seen) = Self.scan(bytes, cuts: cuts)
            #expect(seen == expected, "cut at \(cuts.prefix(3))")
            #expect(!reader.isChunked && !reader.isComplete)
        }
    }

    @Test func aByteOrderMarkAtTheBodysStartIsSkippedAndBytesThatOnlyBeganLikeOneAreKept() {
        let head = utf8("HTTP/1.1 200 OK\r\n\r\n")
        let marked = head + [0xEF, 0xBB, 0xBF] + utf8("data: x\n\n\u{FEFF}data: y\n\n")
        for cuts in Self.everySplit(of: marked) {
            #expect(
                Self.scan(marked, cuts: cuts).1 == [
                    .head(200), .field("data", "x"), .blank, .field(utf8("\u{FEFF}data"), utf8("y")), .blank,
                ])
        }
        let almost = head + [0xEF, 0xBB] + utf8("x: y\n")
        for cuts in Self.everySplit(of: almost) {
            #expect(Self.scan(almost, cuts: cuts).1 == [.head(200), .field([0xEF, 0xBB] + utf8("x"), utf8("y"))])
        }
    }

    @Test func aStatusOtherThan200IsHandedOnBeforeItsBody() {
        let bytes = utf8("HTTP/1.1 404 Not Found\r\nContent-Length: 16\r\n\r\ntopic not found\n")
        #expect(Self.scan(bytes, cuts: [20]).1 == [.head(404), .field("topic not found", "")])
    }

    @Test func aMalformedChunkSizeIsReportedOnceAndNothingMoreIsHandedOn() throws {
        let bytes = Self.chunkedHead + utf8("4\r\n:a\n\n\r\nzz\r\n") + SSEResponseReaderTests.chunk(":b\n")
        let (reader, seen) = Self.scan(bytes, cuts: [Self.chunkedHead.count + 9, Self.chunkedHead.count + 11])
        #expect(seen == [.head(200), .comment("a"), .blank])
        let malformed = try #require(reader.malformed)
        #expect(malformed.hasSuffix("(after \(Self.chunkedHead.count + 9) bytes)"))
        #expect(reader.bytesRead == bytes.count)
    }

    /// Random streams (fields, comments, odd line ends, UTF-8) in random reads: the events built from the pieces as
    /// a browser would are exactly what the String reading (`read`, `SSEDecoder`) returns for the same bytes.
    @Test func piecesMakeTheSameEventsAsTheStringReadingOfTheSameBytes() {
        var generator = SeededGenerator(seed: 0x5CA_2026)
        let words = ["data", "id", "event", "retry", "x", "é", ":", " ", "1", "\r", "\n", "\r\n", "\n\n", "\u{FEFF}"]
        for round in 0..<300 {
            var body = ""
            for _ in 0..<Int.random(in: 1...40, using: &generator) { body += words.randomElement(using: &generator)! }
            let bytes = utf8("HTTP/1.1 200 OK\r\n\r\n" + body)
            var cuts: [Int] = []
            var at = 0
            while true {
                at += Int.random(in: 1...9, using: &generator)
                guard at < bytes.count else { break }
                cuts.append(at)
            }
            var reader = SSEResponseReader()
            var expected: [SSEDecoder.Parsed] = []
            var start = 0
            for end in cuts + [bytes.count] {
                expected += reader.read(ByteBuffer(bytes: Array(bytes[start..<end])))
                start = end
            }
            #expect(
                Self.events(from: Self.scan(bytes, cuts: cuts).1) == expected,
                "round \(round): \(body.debugDescription)")
        }
    }

    /// The WHATWG dispatch over scanned pieces, as `SSEDecoder` reports it.
    static func events(from pieces: [Seen]) -> [SSEDecoder.Parsed] {
        var result: [SSEDecoder.Parsed] = []
        var data: [UInt8]?
        var event = ""
        var id: String?
        for piece in pieces {
            switch piece {
            case .head: break
            case .comment(let text): result.append(.comment(String(decoding: text, as: UTF8.self)))
            case .blank:
                if let data { result.append(.event(id: id, event: event.isEmpty ? nil : event, data: Self.text(data))) }
                (data, event, id) = (nil, "", nil)
            case .field(let name, let value):
                switch Self.text(name) {
                case "data": data = (data.map { $0 + [0x0A] } ?? []) + value
                case "event": event = Self.text(value)
                case "id" where !value.contains(0): id = Self.text(value)
                case "retry" where !value.isEmpty && value.allSatisfy({ (0x30...0x39).contains($0) }):
                    if let milliseconds = Int(Self.text(value)) { result.append(.retry(milliseconds)) }
                default: break
                }
            }
        }
        return result
    }

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}
