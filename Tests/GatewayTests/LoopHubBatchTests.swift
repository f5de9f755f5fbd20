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
    /// The fan-out fixture used at the level of one loop hub: frames are handed to the loop as the node hub hands
    /// them, and the node hub itself is not run.
    final class Fixture {
        let fanout = FanoutFixture()
        var stats: GatewayStats { fanout.stats }
        var hub: LoopHub { fanout.loopHub() }

        func open(_ topics: [String], format: StreamFormat = StreamFormat(), lastEventID: EventID? = nil) throws
            -> SSEStream
        {
            try fanout.open(topics, format: format, lastEventID: lastEventID)
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

        static func id(_ sequence: UInt64) -> EventID { FanoutFixture.id(sequence) }
        static func frame(_ data: String, id: UInt64? = nil) -> String { FanoutFixture.frame(data, id: id) }

        /// Ends the tick: runs the loop's queued tasks (the hub's end-of-tick pass).
        func endTick() { fanout.loops[0].run() }

        func writes(_ stream: SSEStream) throws -> [String] { try fanout.writes(stream) }
        func rawWrites(_ stream: SSEStream) throws -> [String] { try fanout.rawWrites(stream) }
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
        streams[0].close(error: false)  // the last stream takes its place
        try fixture.publish("board", "one", id: 1)
        fixture.endTick()
        #expect(
            try streams.map { try fixture.writes($0) } == [
                [], ["id: 1-1\ndata: one\n\n"], ["id: 1-1\ndata: one\n\n"], ["id: 1-1\ndata: one\n\n"],
            ])
        streams[3].close(error: false)
        streams[1].close(error: false)
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
        // Resumed at id 5 with a replay that carried 6 and 7 while ids 6 to 8 were still on their way live.
        let resumed = try fixture.open(["board"], lastEventID: Fixture.id(5))
        let history = (6...7).map { id in
            (
                frame: HTTPChunk.wrap(ByteBuffer(string: Fixture.frame("e\(id)", id: UInt64(id)))),
                id: Fixture.id(UInt64(id)), topic: try! Topic(validating: "board")
            )
        }
        #expect(resumed.finishReplay(history: history) == 2)
        // A replay is one write.
        #expect(try fixture.writes(resumed) == [Fixture.frame("e6", id: 6) + Fixture.frame("e7", id: 7)])
        for id in 6...8 { try fixture.publish("board", "e\(id)", id: UInt64(id)) }
        fixture.endTick()
        #expect(try fixture.writes(resumed).joined() == Fixture.frame("e8", id: 8))
        #expect(fixture.stats.eventsSent.load(ordering: .relaxed) == 3)
    }

    @Test func aReplayingStreamParksTheBatchAndSendsEachEventOnce() throws {
        let fixture = Fixture()
        let replaying = try fixture.open(["board"], lastEventID: Fixture.id(5))
        try fixture.publish("board", "e6", id: 6)
        try fixture.publish("board", "e7", id: 7)
        fixture.endTick()
        #expect(try fixture.writes(replaying).isEmpty)
        // History carries 6; the parked 6 is skipped and 7 follows.
        let history = [
            (
                frame: HTTPChunk.wrap(ByteBuffer(string: Fixture.frame("e6", id: 6))), id: Fixture.id(6),
                topic: try Topic(validating: "board")
            )
        ]
        #expect(replaying.finishReplay(history: history) == 1)
        #expect(try fixture.writes(replaying) == [Fixture.frame("e6", id: 6) + Fixture.frame("e7", id: 7)])
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
        fixture.fanout.channel(of: slow).isWritable = false
        fixture.endTick()
        #expect(!slow.isOpen)
        #expect(fast.isOpen)
        #expect(try fixture.writes(fast) == [Fixture.frame("x", id: 1)])
        #expect(fixture.stats.slowConsumerDisconnects.load(ordering: .relaxed) == 1)
    }
}
