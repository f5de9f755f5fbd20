import NIOCore
import RedisClient
import SSEHistory
import SSEProtocol
import Synchronization
import Testing

@testable import Gateway

/// The fan-out on a Redis Cluster (ids per topic): positioned streams, per-topic resume, and per-topic backfills
/// after a shard change, on embedded loops with a fake subscription and history.
@Suite struct ClusterFanoutTests {
    static func topic(_ name: String) -> Topic { try! Topic(validating: name) }

    static func message(_ topic: String, _ data: String, _ id: EventID) -> RedisClusterSubscriber.Event {
        .message(
            channel: "sse:{\(topic)}",
            payload: RedisEnvelope.encodeReliable(id: id, event: nil, data: ByteBuffer(string: data)))
    }

    static func position(_ ids: [String: EventID]) throws -> String {
        var byTopic: [Topic: EventID] = [:]
        for (name, id) in ids { byTopic[topic(name)] = id }
        return try SSEProtocol.StreamPosition(byTopic).description
    }

    static func notice(_ reason: String, _ topics: [String]) -> String {
        String(buffer: ResyncNotice.frame(reason: reason, topics: topics.map(topic)))
    }

    @Test func aStreamOfSeveralTopicsCarriesItsPositionInEveryIdLineStartingEachTopicWhereTheNodeStood() throws {
        let fixture = FanoutFixture(idsPerTopic: true)
        fixture.history.clocks.withLock { $0 = [Self.topic("a"): EventID(milliseconds: 10, sequence: 0)] }
        fixture.startConnectedOnCluster()
        let stream = try fixture.open(["a", "b"], format: StreamFormat(positioned: true))
        fixture.settle()
        fixture.subscription.confirmAll()
        fixture.settle()
        #expect(try fixture.writes(stream) == [": connected to node-t\n\n"])

        let b = EventID(milliseconds: 20, sequence: 3)
        fixture.node.handle(cluster: Self.message("b", "x", b))
        fixture.settle()
        let first = try Self.position(["a": EventID(milliseconds: 10, sequence: 0), "b": b])
        // The stream's id line and the shared frame in one write.
        #expect(try fixture.writes(stream) == ["id: \(first)\ndata: x\n\n"])

        // At or below the clock the node read when it subscribed: already published before the stream joined.
        fixture.node.handle(cluster: Self.message("a", "old", EventID(milliseconds: 10, sequence: 0)))
        fixture.node.handle(cluster: Self.message("a", "y", EventID(milliseconds: 30, sequence: 1)))
        fixture.node.handle(cluster: Self.message("b", "z", EventID(milliseconds: 20, sequence: 4)))
        fixture.settle()
        let second = try Self.position(["a": EventID(milliseconds: 30, sequence: 1), "b": b])
        let third = try Self.position([
            "a": EventID(milliseconds: 30, sequence: 1), "b": EventID(milliseconds: 20, sequence: 4),
        ])
        #expect(try fixture.writes(stream) == ["id: \(second)\ndata: y\n\n", "id: \(third)\ndata: z\n\n"])
    }

    @Test func aPositionedStreamResumesEachTopicAfterItsOwnEntryAndIsToldResyncForATopicItsShardLost() throws {
        let fixture = FanoutFixture(idsPerTopic: true)
        let (stream, _, _, reads) = try fixture.openPositionedAtA5B7()
        #expect(fixture.history.pending == reads)
        // A live event of a arrives during the replay: it waits behind it.
        fixture.node.handle(cluster: Self.message("a", "a9", EventID(milliseconds: 9, sequence: 0)))
        fixture.settle()
        let a6 = EventID(milliseconds: 6, sequence: 0)
        fixture.history.answer(
            .events([TopicEvent(topic: Self.topic("a"), event: ServerSentEvent(id: a6, data: "a6"))]))
        fixture.history.answer(.unknownID)
        fixture.settle()
        let afterA6 = try Self.position(["a": a6])
        let afterA9 = try Self.position(["a": EventID(milliseconds: 9, sequence: 0)])
        #expect(
            try fixture.writes(stream) == [
                ": connected to node-t\n\n", Self.notice("unknown-last-event-id", ["b"]),
                "id: \(afterA6)\ndata: a6\n\nid: \(afterA9)\ndata: a9\n\n",
            ])
    }

    @Test func afterASlotMovesItsTopicReadsOnFromItsOwnLastIDWhileLiveMessagesWaitAndEachEventGoesOutOnce() throws {
        let fixture = FanoutFixture(idsPerTopic: true)
        fixture.startConnectedOnCluster()
        let stream = try fixture.openAnswered(["a"])
        let id = { (sequence: UInt64) in EventID(milliseconds: 10, sequence: sequence) }
        fixture.node.handle(cluster: Self.message("a", "e1", id(1)))
        fixture.settle()
        #expect(try fixture.writes(stream) == ["id: 10-1\ndata: e1\n\n"])

        fixture.node.handle(cluster: .unsubscribedByServer(address: "127.0.0.1:7001", channels: ["sse:{a}"]))
        fixture.node.handle(cluster: .resubscribed(channels: ["sse:{a}"]))
        fixture.settle()
        #expect(fixture.history.pending == [.exactAfter(id(1), topics: [Self.topic("a")], issuedIn: Self.topic("a"))])
        fixture.node.handle(cluster: Self.message("a", "e4", id(4)))  // live, on the new primary: parked
        fixture.settle()
        #expect(try fixture.writes(stream) == [])
        fixture.history.answer(
            .events(
                try (2...4).map {
                    TopicEvent(topic: Self.topic("a"), event: ServerSentEvent(id: id($0), data: "e\($0)"))
                }))
        fixture.settle()
        #expect(
            try fixture.writes(stream).joined() == "id: 10-2\ndata: e2\n\nid: 10-3\ndata: e3\n\nid: 10-4\ndata: e4\n\n")
        #expect(fixture.stats.backfilledEvents.load(ordering: .relaxed) == 3)
    }

    @Test func aShardThatLostTheNodesPositionIsAnsweredWithResyncThenWhatItHoldsNowIsDelivered() throws {
        let fixture = FanoutFixture(idsPerTopic: true)
        fixture.startConnectedOnCluster()
        let stream = try fixture.openAnswered(["a"])
        fixture.node.handle(cluster: Self.message("a", "e1", EventID(milliseconds: 10, sequence: 1)))
        fixture.settle()
        _ = try fixture.writes(stream)

        fixture.node.handle(cluster: .shardReconnected(address: "127.0.0.1:7001", channels: ["sse:{a}"]))
        fixture.settle()
        fixture.history.answer(.unknownID)
        fixture.settle()
        // Even the oldest id recorded of the topic is gone (the shard was emptied): its whole history follows.
        let a = Self.topic("a")
        #expect(
            fixture.history.pending == [.exactAfter(EventID(milliseconds: 10, sequence: 1), topics: [a], issuedIn: a)])
        fixture.history.answer(.unknownID)
        fixture.settle()
        #expect(fixture.history.pending == [.fromOrigin(topics: [Self.topic("a")])])
        // The new data's ids start lower: the stream forgot its id, so they go out.
        fixture.history.answer(
            .events([
                TopicEvent(
                    topic: Self.topic("a"), event: ServerSentEvent(id: EventID(milliseconds: 8, sequence: 0), data: "n")
                )
            ]))
        fixture.settle()
        #expect(
            try fixture.writes(stream).joined() == Self.notice("redis-data-lost", ["a"]) + "id: 8-0\ndata: n\n\n")
    }

    @Test func aShardThatLostItsLastEventsTellsTheTopicsStreamsAndRelaysWhatItTookSinceOnce() throws {
        let fixture = FanoutFixture(idsPerTopic: true)
        fixture.startConnectedOnCluster()
        let stream = try fixture.openAnswered(["a"])
        let a = Self.topic("a")
        for sequence in UInt64(1)...3 {
            fixture.node.handle(
                cluster: Self.message("a", "e\(sequence)", EventID(milliseconds: 10, sequence: sequence)))
        }
        fixture.settle()
        _ = try fixture.writes(stream)

        // The promoted replica had 10-1 and 10-2, not 10-3, and has since taken 11-0.
        fixture.node.handle(cluster: .resubscribed(channels: ["sse:{a}"]))
        fixture.settle()
        fixture.history.answer(.unknownID)
        fixture.settle()
        #expect(
            fixture.history.pending == [.exactAfter(EventID(milliseconds: 10, sequence: 1), topics: [a], issuedIn: a)])
        fixture.history.answer(
            .events([
                TopicEvent(topic: a, event: ServerSentEvent(id: EventID(milliseconds: 10, sequence: 2), data: "e2")),
                TopicEvent(topic: a, event: ServerSentEvent(id: EventID(milliseconds: 11, sequence: 0), data: "new")),
            ]))
        fixture.settle()
        #expect(
            try fixture.writes(stream).joined() == Self.notice("redis-data-lost", ["a"]) + "id: 11-0\ndata: new\n\n")
        #expect(fixture.node.topics[a]?.lastID == EventID(milliseconds: 11, sequence: 0))
    }

    @Test func aStreamJoiningATopicWhileItsShardBackfillRunsIsAnsweredOnlyWhenTheBackfillHasRun() throws {
        let fixture = FanoutFixture(idsPerTopic: true)
        fixture.startConnectedOnCluster()
        let first = try fixture.openAnswered(["a"])
        fixture.node.handle(cluster: Self.message("a", "e1", EventID(milliseconds: 10, sequence: 1)))
        fixture.settle()
        _ = try fixture.writes(first)

        fixture.node.handle(cluster: .resubscribed(channels: ["sse:{a}"]))
        fixture.settle()
        let joining = try fixture.open(["a"])
        fixture.settle()
        fixture.subscription.confirmAll()
        fixture.settle()
        #expect(try fixture.writes(joining) == [])
        fixture.history.answer(
            .events([
                TopicEvent(
                    topic: Self.topic("a"),
                    event: ServerSentEvent(id: EventID(milliseconds: 10, sequence: 2), data: "e2"))
            ]))
        fixture.settle()
        #expect(try fixture.writes(first) == ["id: 10-2\ndata: e2\n\n"])
        let answered = try fixture.writes(joining)
        #expect(answered.contains(": connected to node-t\n\n"), "\(answered)")
    }
}
