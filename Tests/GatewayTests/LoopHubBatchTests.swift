import NIOCore
import NIOEmbedded
import SSEProtocol
import Synchronization
import Testing

@testable import Gateway

/// The per-tick batching of ``LoopHub`` on an embedded loop: what each stream is written, in how many writes, in
/// which order. (The gateway's behaviour over real sockets is covered by the suites that run `sse-gateway`.)
@Suite("Loop hub: one write per stream per tick")
struct LoopHubBatchTests {
    /// Holds a channel's context for an ``SSEConnection``.
    final class ContextHolder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        var context: ChannelHandlerContext?
        func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    }

    /// One loop hub on an embedded loop, and streams on embedded channels of that loop.
    final class Fixture {
        let loop = EmbeddedEventLoop()
        let stats = GatewayStats()
        let hub: LoopHub
        private var channels: [ObjectIdentifier: EmbeddedChannel] = [:]

        init() {
            hub = LoopHub(index: 0, eventLoop: loop, stats: stats, heartbeatInterval: .seconds(3600))
        }

        func open(
            _ topics: [String], format: StreamFormat = StreamFormat(), lastEventID: EventID? = nil,
            replaying: Bool = false
        ) throws -> SSEConnection {
            let holder = ContextHolder()
            let channel = EmbeddedChannel(handler: holder, loop: loop)
            let connection = SSEConnection(
                context: holder.context!, topics: try topics.map { try Topic(validating: $0) }, format: format,
                replaying: replaying, lastEventID: lastEventID, maxUnsentBytes: 1 << 20, stats: stats)
            channels[ObjectIdentifier(connection)] = channel
            hub.add(connection)
            return connection
        }

        func publish(
            _ topic: String, _ data: String, id: UInt64? = nil, formats: FormatSet = FormatSet(StreamFormat())
        ) throws {
            let event = ServerSentEvent(id: id.map(Self.id), data: data)
            let topic = try Topic(validating: topic)
            hub.deliver(
                topic: topic,
                frames: StreamFrames(encoding: event, topic: topic, for: formats, allocator: ByteBufferAllocator()),
                id: event.id)
        }

        static func id(_ sequence: UInt64) -> EventID { EventID(milliseconds: 1, sequence: sequence) }

        static func frame(_ data: String, id: UInt64? = nil) -> String {
            (id.map { "id: 1-\($0)\n" } ?? "") + "data: \(data)\n\n"
        }

        /// Ends the tick: runs the loop's queued tasks (the hub's end-of-tick pass).
        func endTick() { loop.run() }

        /// Every buffer written to the stream's channel since the last call, one string per write, with the chunk
        /// framing taken off (each write must be a run of whole chunks).
        func writes(_ connection: SSEConnection) throws -> [String] {
            let channel = channels[ObjectIdentifier(connection)]!
            var writes: [String] = []
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
                let payloads = try #require(
                    HTTPChunk.payloads(of: buffer), "not whole chunks: \(String(buffer: buffer))")
                writes.append(payloads.map { String(buffer: $0) }.joined())
            }
            return writes
        }

        /// Every buffer written since the last call, exactly as written (chunk framing included).
        func rawWrites(_ connection: SSEConnection) throws -> [String] {
            let channel = channels[ObjectIdentifier(connection)]!
            var writes: [String] = []
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) { writes.append(String(buffer: buffer)) }
            return writes
        }
    }

    @Test func eventsOfOneTickReachAStreamInOneWrite() throws {
        let fixture = Fixture()
        let first = try fixture.open(["board"])
        let second = try fixture.open(["board"])
        for (index, data) in ["one", "two", "three"].enumerated() {
            try fixture.publish("board", data, id: UInt64(index + 1))
        }
        #expect(try fixture.writes(first).isEmpty)  // nothing is written before the tick ends
        fixture.endTick()
        let joined = Fixture.frame("one", id: 1) + Fixture.frame("two", id: 2) + Fixture.frame("three", id: 3)
        #expect(try fixture.writes(first) == [joined])
        #expect(try fixture.writes(second) == [joined])
        #expect(fixture.stats.eventsSent.load(ordering: .relaxed) == 6)

        try fixture.publish("board", "four", id: 4)
        fixture.endTick()
        #expect(try fixture.writes(first) == [Fixture.frame("four", id: 4)])
    }

    @Test func streamsThatLeaveTakeNoEventsAndTheOthersKeepTheirs() throws {
        let fixture = Fixture()
        let streams = try (0..<4).map { _ in try fixture.open(["board"]) }
        fixture.hub.remove(streams[0])  // the last stream takes its place
        try fixture.publish("board", "one", id: 1)
        fixture.endTick()
        #expect(
            try streams.map { try fixture.writes($0) } == [
                [], ["id: 1-1\ndata: one\n\n"], ["id: 1-1\ndata: one\n\n"], ["id: 1-1\ndata: one\n\n"],
            ])
        fixture.hub.remove(streams[3])
        fixture.hub.remove(streams[1])
        try fixture.publish("board", "two", id: 2)
        fixture.endTick()
        #expect(try streams.map { try fixture.writes($0) } == [[], [], ["id: 1-2\ndata: two\n\n"], []])
        #expect(fixture.stats.eventsSent.load(ordering: .relaxed) == 4)
    }

    @Test func aStreamOfSeveralTopicsKeepsTheArrivalOrderAcrossTopics() throws {
        let fixture = Fixture()
        let both = try fixture.open(["alpha", "beta"])
        let alphaOnly = try fixture.open(["alpha"])
        try fixture.publish("alpha", "a1", id: 1)
        try fixture.publish("beta", "b1", id: 2)
        try fixture.publish("alpha", "a2", id: 3)
        fixture.endTick()
        #expect(
            try fixture.writes(both) == [
                Fixture.frame("a1", id: 1), Fixture.frame("b1", id: 2), Fixture.frame("a2", id: 3),
            ])
        #expect(try fixture.writes(alphaOnly) == [Fixture.frame("a1", id: 1) + Fixture.frame("a2", id: 3)])
        #expect(fixture.stats.eventsSent.load(ordering: .relaxed) == 5)
    }

    @Test func aStreamOpenedDuringATickGetsOnlyTheEventsAfterIt() throws {
        let fixture = Fixture()
        let early = try fixture.open(["board"])
        try fixture.publish("board", "before")
        let late = try fixture.open(["board"])
        try fixture.publish("board", "after")
        fixture.endTick()
        #expect(try fixture.writes(early) == [Fixture.frame("before") + Fixture.frame("after")])
        #expect(try fixture.writes(late) == [Fixture.frame("after")])
    }

    @Test func aStreamThatHasSomeOfTheBatchGetsOnlyTheNewerEvents() throws {
        let fixture = Fixture()
        // Resumed at id 7 while ids 6 to 8 are in flight (a replay that already carried 6 and 7).
        let resumed = try fixture.open(["board"], lastEventID: Fixture.id(7))
        for id in 6...8 { try fixture.publish("board", "e\(id)", id: UInt64(id)) }
        fixture.endTick()
        #expect(try fixture.writes(resumed).joined() == Fixture.frame("e8", id: 8))
        #expect(fixture.stats.eventsSent.load(ordering: .relaxed) == 1)
    }

    @Test func aReplayingStreamParksTheBatchAndSendsEachEventOnce() throws {
        let fixture = Fixture()
        let replaying = try fixture.open(["board"], lastEventID: Fixture.id(5), replaying: true)
        try fixture.publish("board", "e6", id: 6)
        try fixture.publish("board", "e7", id: 7)
        fixture.endTick()
        #expect(try fixture.writes(replaying).isEmpty)
        // History carries 6; the parked 6 is skipped and 7 follows.
        let history = [(frame: HTTPChunk.wrap(ByteBuffer(string: Fixture.frame("e6", id: 6))), id: Fixture.id(6))]
        #expect(replaying.finishReplay(history: history) == 1)
        #expect(try fixture.writes(replaying) == [Fixture.frame("e6", id: 6), Fixture.frame("e7", id: 7)])
        // The tick's pass must not send the parked events again.
        try fixture.publish("board", "e8", id: 8)
        fixture.endTick()
        #expect(try fixture.writes(replaying) == [Fixture.frame("e8", id: 8)])
    }

    @Test func aNoticeFollowsTheEventsThatArrivedBeforeIt() throws {
        let fixture = Fixture()
        let stream = try fixture.open(["board"])
        try fixture.publish("board", "first", id: 1)
        let notice = ByteBuffer(string: "event: resync\ndata: {}\n\n")
        #expect(fixture.hub.broadcast(notice, topics: nil) == 1)
        fixture.endTick()
        #expect(try fixture.writes(stream) == [Fixture.frame("first", id: 1), "event: resync\ndata: {}\n\n"])
    }

    @Test func aStreamThatCannotTakeTheBatchIsCutAndTheOthersAreNot() throws {
        let fixture = Fixture()
        let slow = try fixture.open(["board"])
        let fast = try fixture.open(["board"])
        try fixture.publish("board", "x", id: 1)
        slow.context.channel.isWritableForTesting(false)
        fixture.endTick()
        #expect(!slow.isOpen)
        #expect(fast.isOpen)
        #expect(try fixture.writes(fast) == [Fixture.frame("x", id: 1)])
        #expect(fixture.stats.slowConsumerDisconnects.load(ordering: .relaxed) == 1)
    }
}

extension Channel {
    /// Marks an embedded channel writable or not (as a full socket buffer would).
    fileprivate func isWritableForTesting(_ writable: Bool) {
        (self as! EmbeddedChannel).isWritable = writable
    }
}
