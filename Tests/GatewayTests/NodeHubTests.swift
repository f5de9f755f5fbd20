import NIOCore
import NIOEmbedded
import RedisClient
import SSEHistory
import SSEProtocol
import Synchronization
import Testing

@testable import Gateway

/// The node hub's state on embedded loops with a fake subscription and history (``FanoutFixture``): joins and
/// their waiters, subscriptions following the streams, the backfill after a reconnect with live messages parked,
/// and the shedding of a loop that falls behind with its streams' catch-up. The same paths over real sockets and a
/// real Redis are covered by the suites that run `sse-gateway`.
@Suite("Node hub: joins, backfill, shedding (embedded loops, fake Redis)")
struct NodeHubTests {
    typealias Request = FakeSubscription.Request
    static let connected = ": connected to node-t\n\n"
    static let down = RedisSubscriber.Event.disconnected(.connectionClosed(address: "127.0.0.1:1"))

    @Test func theFirstStreamOfATopicSubscribesItAndStreamsAreAnsweredOnlyOnceRedisConfirms() throws {
        let fixture = FanoutFixture(loops: 2)
        fixture.startConnected()
        #expect(fixture.subscription.takeRequests() == [Request(kind: .subscribe, channels: ["sse:control"])])

        // Two streams open on loop 0 in one tick, one on loop 1: one SUBSCRIBE for the topics new to the node.
        let board = try fixture.open(["board"], loop: 0)
        let both = try fixture.open(["board", "chat"], loop: 0)
        let other = try fixture.open(["board"], loop: 1)
        fixture.settle()
        let requests = fixture.subscription.takeRequests()
        #expect(requests.count == 1)
        #expect(Set(requests.flatMap(\.channels)) == ["sse:{board}", "sse:{chat}"])
        #expect(try [board, both, other].map { try fixture.writes($0) } == [[], [], []])
        let topic = try Topic(validating: "board")
        #expect(fixture.node.topics[topic]?.streamsPerLoop == [2, 1])
        #expect(fixture.node.waiters.count == 3)

        fixture.subscription.confirmAll()
        fixture.settle()
        #expect(
            try [board, both, other].map { try fixture.writes($0) } == Array(repeating: [Self.connected], count: 3))
        #expect(fixture.node.waiters.isEmpty)

        // The last stream of a topic unsubscribes it; the others keep theirs.
        both.close(error: false)
        fixture.settle()
        #expect(fixture.subscription.takeRequests() == [Request(kind: .unsubscribe, channels: ["sse:{chat}"])])
        board.close(error: false)
        other.close(error: false)
        fixture.settle()
        #expect(fixture.subscription.takeRequests() == [Request(kind: .unsubscribe, channels: ["sse:{board}"])])
        #expect(fixture.node.topics.isEmpty)
        #expect(fixture.stats.subscribedTopics.load(ordering: .relaxed) == 0)
    }

    @Test func aStreamThatJoinsWhileRedisIsDownIsAnsweredAfterTheReconnectNotBefore() throws {
        let fixture = FanoutFixture()
        fixture.startConnected()
        _ = fixture.subscription.takeRequests()
        fixture.node.handle(Self.down)
        let stream = try fixture.open(["board"])
        fixture.settle()
        #expect(fixture.subscription.takeRequests() == [Request(kind: .subscribe, channels: ["sse:{board}"])])
        fixture.subscription.confirmAll()  // confirmed on a connection that is gone
        fixture.settle()
        #expect(try fixture.writes(stream).isEmpty)
        #expect(fixture.node.topics[try Topic(validating: "board")]?.confirmed == false)

        fixture.node.handle(.reconnected)  // every subscription restored
        fixture.settle()
        #expect(try fixture.writes(stream) == [Self.connected])
        #expect(fixture.history.pending.isEmpty)  // nothing relayed yet: nothing to backfill from
    }

    @Test func aReconnectBackfillsFromTheLastRelayedIDWithLiveMessagesParkedUntilItEnds() throws {
        let fixture = FanoutFixture()
        fixture.startConnected()
        let stream = try fixture.openAnswered(["board"])
        fixture.node.handle(FanoutFixture.message("board", "e1", id: 1))
        fixture.settle()
        #expect(try fixture.writes(stream) == [FanoutFixture.frame("e1", id: 1)])

        fixture.node.handle(Self.down)
        fixture.node.handle(.reconnected)
        #expect(
            fixture.history.pending == [
                .exactAfter(
                    FanoutFixture.id(1), topics: [try Topic(validating: "board")],
                    issuedIn: try Topic(validating: "board"))
            ])
        fixture.node.handle(FanoutFixture.message("board", "e4", id: 4))  // live, during the backfill
        fixture.settle()
        #expect(try fixture.writes(stream).isEmpty)

        fixture.history.answer(.events(try FanoutFixture.events("board", 2...4)))
        fixture.settle()
        // The backfill's three events in one tick, then the parked e4, dropped at the seam.
        #expect(try fixture.writes(stream) == [FanoutFixture.frames(2...4).joined()])
        #expect(fixture.stats.backfilledEvents.load(ordering: .relaxed) == 3)
        fixture.node.handle(FanoutFixture.message("board", "e5", id: 5))
        fixture.settle()
        #expect(try fixture.writes(stream) == [FanoutFixture.frame("e5", id: 5)])
    }

    @Test func aBackfillThatFindsRedisEmptiedTellsEveryStreamThenDeliversWhatTheNewDataHolds() throws {
        let fixture = FanoutFixture()
        fixture.startConnected()
        let stream = try fixture.openAnswered(["board"])
        fixture.node.handle(FanoutFixture.message("board", "old", id: 9))
        fixture.settle()
        _ = try fixture.writes(stream)

        fixture.node.handle(Self.down)
        fixture.node.handle(.reconnected)
        fixture.history.answer(.unknownID)
        fixture.settle()
        // The oldest id the node recorded is gone too: Redis was emptied.
        let board = try Topic(validating: "board")
        #expect(fixture.history.pending == [.exactAfter(FanoutFixture.id(9), topics: [board], issuedIn: board)])
        fixture.history.answer(.unknownID)
        fixture.settle()
        #expect(try fixture.writes(stream) == ["event: resync\ndata: {\"reason\":\"redis-data-lost\"}\n\n"])
        #expect(fixture.history.pending == [.fromOrigin(topics: [try Topic(validating: "board")])])
        // The new data's ids start lower than the stream's old ones: delivered, since both forgot them.
        fixture.history.answer(.events([try FanoutFixture.event("board", "new", id: 1)]))
        fixture.settle()
        #expect(try fixture.writes(stream) == [FanoutFixture.frame("new", id: 1)])
    }

    @Test func afterAFailoverLostTheLastEventsOnlyTheirTopicsAreToldAndWhatTheNewMasterHoldsIsRelayedOnce() throws {
        let fixture = FanoutFixture()
        fixture.startConnected()
        let (a, b) = (try Topic(validating: "a"), try Topic(validating: "b"))
        let onA = try fixture.openAnswered(["a"])
        let onB = try fixture.openAnswered(["b"])
        for (topic, id) in [("a", 1), ("b", 2), ("a", 3)] {
            fixture.node.handle(FanoutFixture.message(topic, "\(topic)\(id)", id: UInt64(id)))
        }
        fixture.settle()
        #expect(try fixture.writes(onA).joined() == FanoutFixture.frame("a1", id: 1) + FanoutFixture.frame("a3", id: 3))
        #expect(try fixture.writes(onB) == [FanoutFixture.frame("b2", id: 2)])

        // The new master never received 1-3; since its promotion it took "a-new" with id 2-0.
        fixture.node.handle(Self.down)
        fixture.node.handle(.reconnected)
        fixture.settle()
        #expect(fixture.history.pending == [.exactAfter(FanoutFixture.id(3), topics: [a, b], issuedIn: a)])
        fixture.history.answer(.unknownID)
        fixture.settle()
        #expect(fixture.history.pending == [.exactAfter(FanoutFixture.id(1), topics: [a, b], issuedIn: a)])
        fixture.node.handle(
            .message(
                channel: "sse:{a}",
                payload: RedisEnvelope.encodeReliable(
                    id: EventID(milliseconds: 2, sequence: 1), event: nil, data: ByteBuffer(string: "a-live"))))
        fixture.settle()
        fixture.history.answer(
            .events([
                try FanoutFixture.event("b", "b2", id: 2),
                TopicEvent(topic: a, event: ServerSentEvent(id: EventID(milliseconds: 2, sequence: 0), data: "a-new")),
            ]))
        fixture.settle()
        #expect(
            try fixture.writes(onA).joined()
                == "event: resync\ndata: {\"reason\":\"redis-data-lost\",\"topics\":[\"a\"]}\n\n"
                + "id: 2-0\ndata: a-new\n\nid: 2-1\ndata: a-live\n\n")
        #expect(try fixture.writes(onB) == [])
        #expect(fixture.node.lastRelayedID == EventID(milliseconds: 2, sequence: 1))
    }

    @Test func aReconnectBeforeTheFirstEventReadsOnFromTheClockTheNodeSubscribedAfter() throws {
        let fixture = FanoutFixture()
        let board = try Topic(validating: "board")
        fixture.history.clocks.withLock { $0 = [board: FanoutFixture.id(4)] }
        fixture.startConnected()
        let stream = try fixture.openAnswered(["board"])
        // A link replaced (its probe failed while Redis stalled) before anything was relayed.
        fixture.node.handle(Self.down)
        fixture.node.handle(.reconnected)
        fixture.settle()
        #expect(fixture.history.pending == [.after(FanoutFixture.id(4), topics: [board])])
        fixture.history.answer(.events([try FanoutFixture.event("board", "missed", id: 5)]))
        fixture.settle()
        #expect(try fixture.writes(stream) == [FanoutFixture.frame("missed", id: 5)])
    }

    @Test func aReconnectBeforeTheFirstEventOfARedisThatHadPublishedNothingReadsFromItsOrigin() throws {
        let fixture = FanoutFixture()
        fixture.startConnected()
        let stream = try fixture.openAnswered(["board"])
        fixture.node.handle(Self.down)
        fixture.node.handle(.reconnected)
        fixture.settle()
        #expect(fixture.history.pending == [.fromOrigin(topics: [try Topic(validating: "board")])])
        fixture.history.answer(.events([try FanoutFixture.event("board", "first", id: 1)]))
        fixture.settle()
        #expect(try fixture.writes(stream) == [FanoutFixture.frame("first", id: 1)])
    }

    @Test func aLoopPastItsBacklogIsHandedNothingUntilItCatchesUpThenItsStreamsReadWhatItSkipped() throws {
        // Each frame is 23 bytes on the wire (`id: 1-N\ndata: eN\n\n` chunked): a loop is handed frames while its
        // backlog is at most 50 bytes, so a loop that does not run takes three and sheds from the fourth.
        let fixture = FanoutFixture(loops: 2, maxLoopBacklogBytes: 50)
        fixture.startConnected()
        let behind = try fixture.openAnswered(["board"], loop: 0)
        let keepingUp = try fixture.openAnswered(["board"], loop: 1)

        for id in UInt64(1)...5 {
            fixture.node.handle(FanoutFixture.message("board", "e\(id)", id: id))
            fixture.hubLoop.run()  // the hand-over at the end of the hub's tick
            fixture.loops[1].run()  // loop 1 keeps up; loop 0 does not run
        }
        #expect(fixture.stats.shedDeliveries.load(ordering: .relaxed) == 2)
        #expect(
            fixture.node.shedding.skipped[0]
                == Shedding.Skipped(
                    topics: [try Topic(validating: "board")], after: FanoutFixture.id(3),
                    afterByTopic: [try Topic(validating: "board"): FanoutFixture.id(3)]))
        #expect(try fixture.writes(keepingUp) == FanoutFixture.frames(1...5))

        fixture.loops[0].run()  // loop 0 works off its backlog
        #expect(try fixture.writes(behind) == [FanoutFixture.frames(1...3).joined()])
        #expect(fixture.node.shedding.backlogs[0].bytes.load(ordering: .relaxed) == 0)
        fixture.hubLoop.advanceTime(by: .milliseconds(20))  // the shedding check
        fixture.settle()
        #expect(fixture.node.shedding.skipped[0] == nil)
        #expect(fixture.history.pending == [.after(FanoutFixture.id(3), topics: [try Topic(validating: "board")])])

        fixture.node.handle(FanoutFixture.message("board", "e6", id: 6))  // live again, parked behind the catch-up
        fixture.settle()
        #expect(try fixture.writes(behind).isEmpty)
        fixture.history.answer(.events(try FanoutFixture.events("board", 4...6)))
        fixture.settle()
        #expect(try fixture.writes(behind) == [FanoutFixture.frames(4...6).joined()])
        #expect(try fixture.writes(keepingUp) == [FanoutFixture.frame("e6", id: 6)])
        #expect(fixture.stats.caughtUpStreams.load(ordering: .relaxed) == 1)
        #expect(fixture.stats.replayedEvents.load(ordering: .relaxed) == 3)
    }

    @Test func aStreamOfAShedLoopWithNothingToResumeFromIsToldToResync() throws {
        let fixture = FanoutFixture(loops: 1, maxLoopBacklogBytes: 10)
        fixture.startConnected()
        let stream = try fixture.openAnswered(["board"])
        _ = try fixture.writes(stream)
        // Fire-and-forget messages carry no id: once shed, there is no id to read history after.
        for data in ["a", "b"] {
            fixture.node.handle(.message(channel: "sse:{board}", payload: ByteBuffer(string: data)))
        }
        fixture.hubLoop.run()  // the hand-over at the end of the hub's tick
        fixture.loops[0].run()
        fixture.hubLoop.advanceTime(by: .milliseconds(20))
        fixture.settle()
        #expect(
            try fixture.writes(stream) == [
                FanoutFixture.frame("a"),
                "event: resync\ndata: {\"reason\":\"node-overloaded\",\"topics\":[\"board\"]}\n\n",
            ])
        #expect(fixture.history.pending.isEmpty)
    }

    @Test func anEndOrANoticeInTheSameHubTickAsEventsReachesTheStreamAfterThem() throws {
        let fixture = FanoutFixture()
        fixture.startConnected()
        let ended = try fixture.openAnswered(["jobs"])
        let told = try fixture.openAnswered(["board"])
        // One read from Redis: events, then an end and a notice, handled before the hub's tick ends.
        fixture.node.handle(FanoutFixture.message("jobs", "e1", id: 1))
        fixture.node.handle(FanoutFixture.message("board", "e2", id: 2))
        let end = #"{"end":{"topic":"jobs","reason":"done"}}"#
        fixture.node.handle(.message(channel: "sse:control", payload: ByteBuffer(string: end)))
        fixture.node.resync(topics: nil, reason: "test")
        fixture.settle()
        #expect(
            try fixture.rawWrites(ended) == [
                "12\r\nid: 1-1\ndata: e1\n\n\r\n",
                "36\r\nevent: end\ndata: {\"reason\":\"done\",\"topics\":[\"jobs\"]}\n\n\r\n0\r\n\r\n",
            ])
        #expect(
            try fixture.writes(told) == [
                FanoutFixture.frame("e2", id: 2), "event: resync\ndata: {\"reason\":\"test\"}\n\n",
            ])
    }
}
