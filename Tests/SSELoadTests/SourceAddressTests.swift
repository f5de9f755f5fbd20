import LocalRedis
import NIOCore
import NIOPosix
import SSEClient
import Synchronization
import Testing

@testable import SSELoad

/// `SSEStreamConnection` bound to a chosen source address (what lets sse-load open more streams than one address
/// pair's ephemeral ports allow), against a real server on 127.0.0.1 that records who connected and answers one
/// benchmark event.
@Suite("Streams from chosen source addresses")
struct SourceAddressTests {
    static let answer = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n: hi\n\ndata: seq=1 t=1 \n\n"
    static let request = "GET /sse?topic=t HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

    /// What a test side saw, shared between the loop that records and the test that reads.
    final class Record: Sendable {
        private let items = Mutex<[String]>([])
        func append(_ item: String) { items.withLock { $0.append(item) } }
        var all: [String] { items.withLock { $0 } }
    }

    /// Answers each connection's first read with ``answer``, recording the client's address in arrival order.
    final class Answer: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let peers: Record
        var answered = false

        init(peers: Record) { self.peers = peers }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard !answered else { return }
            answered = true
            peers.append(context.remoteAddress?.ipAddress ?? "?")
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: SourceAddressTests.answer)), promise: nil)
        }
    }

    /// Runs `body` with a listening server on 127.0.0.1 (a free port) and what it records; closes it after.
    static func withServer(_ body: (Int, Record) async throws -> Void) async throws {
        let peers = Record()
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(Answer(peers: peers))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        do {
            try await body(server.localAddress!.port!, peers)
        } catch {
            try? await server.close()
            throw error
        }
        try await server.close()
    }

    /// Opens one connection (bound to `source` when given, by address; by host name otherwise) and returns the
    /// address the server saw, the local address and what the client read.
    static func connect(port: Int, peers: Record, from source: String?) async throws -> (String, String, String) {
        let read = Record()
        let onRead: @Sendable (ByteBuffer, any Channel) -> Void = { buffer, _ in read.append(String(buffer: buffer)) }
        let group = MultiThreadedEventLoopGroup.singleton
        let channel =
            if let source {
                try await SSEStreamConnection.open(
                    to: try SocketAddress(ipAddress: "127.0.0.1", port: port), request: ByteBuffer(string: request),
                    group: group, sourceAddress: try SocketAddress(ipAddress: source, port: 0), onRead: onRead,
                    onClose: {})
            } else {
                try await SSEStreamConnection.open(
                    host: "127.0.0.1", port: port, request: request, group: group, onRead: onRead, onClose: {})
            }
        try await waitUntil("the answer read", timeout: .seconds(10)) { read.all.joined() == answer }
        let local = channel.localAddress?.ipAddress ?? "?"
        try await channel.close()
        return (peers.all.last ?? "none", local, read.all.joined())
    }

    @Test func aConnectionBoundToASourceAddressComesFromItAndReadsTheAnswer() async throws {
        try await Self.withServer { port, peers in
            let (seen, local, read) = try await Self.connect(port: port, peers: peers, from: "127.0.0.2")
            #expect(seen == "127.0.0.2")
            #expect(local == "127.0.0.2")
            #expect(read == Self.answer)
            #expect(peers.all == ["127.0.0.2"])
        }
    }

    @Test func withoutASourceAddressAConnectionComesFromTheKernelsChoiceAsBefore() async throws {
        try await Self.withServer { port, peers in
            let (seen, local, read) = try await Self.connect(port: port, peers: peers, from: nil)
            #expect(seen == "127.0.0.1")
            #expect(local == "127.0.0.1")
            #expect(read == Self.answer)
        }
    }

    @Test func theOpenerSpreadsStreamsOverItsSourceAddressesInTurnAndCountsTheirEvents() async throws {
        try await Self.withServer { port, peers in
            let loop = MultiThreadedEventLoopGroup.singleton.next()
            let tally = try await loop.submit { NIOLoopBound(DeliveryTally(), eventLoop: loop) }.get()
            let target = try StreamTarget(url: "http://127.0.0.1:\(port)/sse?topic=t")
            let opener = StreamOpener(
                target: target, requests: [target.streamRequest(extraHeaders: [])],
                tallies: [ObjectIdentifier(loop): tally], sourceAddresses: try StreamOpener.loopbackSources(count: 3),
                headTimeout: .seconds(10))
            var channels: [any Channel] = []
            for index in 0..<6 { channels.append(try await opener.open(index: index, on: loop)) }
            #expect(peers.all == ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.1", "127.0.0.2", "127.0.0.3"])
            #expect(channels.map { $0.localAddress?.ipAddress } == peers.all)
            try await waitUntil("6 events counted", timeout: .seconds(10)) {
                try await loop.submit { tally.value.counts.events == 6 }.get()
            }
            let counts = try await loop.submit {
                tally.value.stopping = true
                return tally.value.counts
            }.get()
            #expect(counts.comments == 6)
            #expect(counts.gaps == 0 && counts.duplicates == 0 && counts.unparsed == 0)
            for channel in channels { try await channel.close() }
            #expect(try await loop.submit { tally.value.counts.dropped }.get() == 0)
        }
    }
}
