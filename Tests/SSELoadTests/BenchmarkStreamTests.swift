import NIOCore
import NIOPosix
import SSEProtocol
import Testing

@testable import SSELoad

/// A benchmark stream reads its answer through `SSEResponseReader.scan` and counts exactly what the gateway, nchan
/// or the floor sent: events, gaps, duplicates, unparsed data, comments and latency, wherever reads split the bytes.
@Suite("A benchmark stream's counts")
struct BenchmarkStreamTests {
    /// What one stream ended with: its loop's counts, why it asked to be closed, and how its opening ended.
    struct Outcome: Sendable {
        var counts: DeliveryCounts
        var failure: String?
        var opened: Result<Void, any Error>
    }

    /// Feeds `bytes` to a fresh stream in reads ending at `cuts`, each received at 2 ms of wall-clock time; then
    /// closes it (with the run `stopping` or not) when `close` says so.
    static func run(_ bytes: [UInt8], cuts: [Int], close: Bool = false, stopping: Bool = false) async throws
        -> Outcome
    {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let (outcome, opened) = try await loop.submit { () -> (Outcome, EventLoopFuture<Void>) in
            let tally = NIOLoopBound(DeliveryTally(), eventLoop: loop)
            let promise = loop.makePromise(of: Void.self)
            let stream = BenchmarkStream(tally: tally, opened: promise)
            var failure: String?
            var start = 0
            for end in cuts + [bytes.count] where end >= start && failure == nil {
                var buffer = ByteBuffer()
                buffer.writeBytes(bytes[start..<end])
                failure = stream.read(buffer, receivedAt: 2_000_000).map(\.description)
                start = end
            }
            tally.value.stopping = stopping
            if close { stream.closed() }
            if !close, !stream.isOpen { promise.fail(LoadError("still waiting for the head")) }
            return (Outcome(counts: tally.value.counts, failure: failure, opened: .success(())), promise.futureResult)
        }.get()
        var result = outcome
        do { try await opened.get() } catch { result.opened = .failure(error) }
        return result
    }

    static func chunk(_ text: String) -> [UInt8] {
        Array((String(text.utf8.count, radix: 16) + "\r\n" + text + "\r\n").utf8)
    }

    /// As the gateway sends: chunked, an opening comment, events with ids, a heartbeat, a second publisher lane.
    static let gateway =
        Array("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
        + chunk(": connected\n\n") + chunk("id: 1-1\ndata: seq=1 t=1000000 xx\n\n")
        + chunk("id: 1-2\ndata: seq=2 t=1000000 xx\n\nid: 1-2\ndata: seq=2 t=1000000 xx\n\n")
        + chunk("id: 1-5\r\ndata: seq=5 t=1500000 xx\r\n\r\n") + chunk(": heartbeat\n\n") + chunk("data: hello\n\n")
        + chunk("data: seq=1 t=1000000 l=1 xx\n\n")

    @Test func aGatewayStreamIsCountedExactlyWhereverTheReadsSplitIt() async throws {
        for cut in 0...Self.gateway.count {
            let outcome = try await Self.run(Self.gateway, cuts: [cut])
            let counts = outcome.counts
            #expect(counts.events == 6, "cut at \(cut)")
            #expect(counts.duplicates == 1)
            #expect(counts.gaps == 2)
            #expect(counts.unparsed == 1)
            #expect(counts.comments == 2)
            #expect(counts.bytes == UInt64(Self.gateway.count))
            #expect(counts.dropped == 0)
            // Timed: seq 1, 2 and 5 of lane 0 and seq 1 of lane 1, at 1000 µs, 1000, 500 and 1000.
            #expect(counts.latency.total == 4)
            #expect(counts.latency.maximum == 1000)
            #expect(outcome.failure == nil)
            #expect(throws: Never.self) { try outcome.opened.get() }
        }
    }

    @Test func readsOfOneByteEachCountTheSame() async throws {
        let outcome = try await Self.run(Self.gateway, cuts: Array(1..<Self.gateway.count))
        #expect(outcome.counts.events == 6)
        #expect(outcome.counts.gaps == 2)
        #expect(outcome.counts.comments == 2)
    }

    @Test func theFloorsEnvelopeHeaderLineIsSkippedForThePayloadLineAfterIt() async throws {
        let floor = Array(
            ("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
                + ": ok\n\ndata: \u{1E}sse1 9-1 \ndata: seq=1 t=1000000 \n\n").utf8)
        for cut in 0...floor.count {
            let counts = try await Self.run(floor, cuts: [cut]).counts
            #expect(counts.events == 1, "cut at \(cut)")
            #expect(counts.unparsed == 0)
            #expect(counts.latency.total == 1)
            #expect(counts.comments == 1)
        }
    }

    @Test func aStatusOtherThan200FailsTheOpeningAndCountsNothing() async throws {
        let bytes = Array("HTTP/1.1 404 Not Found\r\n\r\n: x\n\ndata: seq=1 t=1 \n\n".utf8)
        let outcome = try await Self.run(bytes, cuts: [], close: true)
        #expect(outcome.failure == "status 404")
        #expect(outcome.counts.events == 0)
        #expect(outcome.counts.comments == 0)
        #expect(outcome.counts.dropped == 0)
        #expect(throws: LoadError.self) { try outcome.opened.get() }
        #expect("\(outcome.opened)".contains("status 404"))
    }

    @Test func aMalformedAnswerClosesTheStream() async throws {
        let bytes = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".utf8)
        let outcome = try await Self.run(bytes, cuts: [])
        #expect(outcome.failure?.hasPrefix("malformed chunked body") == true)
    }

    @Test func aStreamClosedAfterItOpenedIsDroppedUnlessTheRunIsStopping() async throws {
        let head = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
        #expect(try await Self.run(head, cuts: [], close: true).counts.dropped == 1)
        #expect(try await Self.run(head, cuts: [], close: true, stopping: true).counts.dropped == 0)
        let cut = try await Self.run(Array(head.prefix(10)), cuts: [], close: true)
        #expect(cut.counts.dropped == 0)
        #expect("\(cut.opened)".contains("closed before the response head"))
    }
}
