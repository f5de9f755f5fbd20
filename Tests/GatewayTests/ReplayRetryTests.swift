import NIOCore
import NIOEmbedded
import RedisClient
import SSEHistory
import SSEProtocol
import Synchronization
import Testing

@testable import Gateway

/// A replay whose history read fails (a shard's connection lost in a failover) reads again, from where the stream
/// stands, before giving up: the client keeps its stream instead of reconnecting through the whole cluster.
@Suite struct ReplayRetryTests {
    static let lost = RedisError.connectionClosed(address: "127.0.0.1:7001")

    static func topic(_ name: String) -> Topic { try! Topic(validating: name) }

    /// Lets a retry's pause pass on every loop, then runs what it queued.
    static func pause(_ fixture: FanoutFixture, _ amount: TimeAmount) {
        for loop in fixture.loops { loop.advanceTime(by: amount) }
        fixture.settle()
    }

    @Test func aReplayWhoseReadFailsTwiceGetsItsHistoryFromTheThirdReadOnTheSameStream() throws {
        let fixture = FanoutFixture()
        fixture.startConnected()
        let stream = try fixture.openConfirmed(["t"], lastEventID: FanoutFixture.id(2))
        let topics: Set<Topic> = [Self.topic("t")]
        #expect(fixture.history.pending == [.after(FanoutFixture.id(2), topics: topics)])
        fixture.history.answer(.failure(Self.lost))
        fixture.settle()
        // Nothing is read again before the pause, and the stream stays open, replaying.
        #expect(fixture.history.pending.isEmpty)
        #expect(stream.isOpen && stream.isReplaying)
        Self.pause(fixture, .milliseconds(199))
        #expect(fixture.history.pending.isEmpty)
        Self.pause(fixture, .milliseconds(1))
        #expect(fixture.history.pending == [.after(FanoutFixture.id(2), topics: topics)])
        fixture.history.answer(.failure(Self.lost))
        fixture.settle()
        // A live event arrives meanwhile: it waits behind the replay.
        fixture.node.handle(FanoutFixture.message("t", "e5", id: 5))
        fixture.settle()
        Self.pause(fixture, .milliseconds(400))
        #expect(fixture.history.pending == [.after(FanoutFixture.id(2), topics: topics)])
        fixture.history.answer(.events(try FanoutFixture.events("t", 3...4)))
        fixture.settle()
        #expect(stream.isOpen && !stream.isReplaying)
        // The replay's history and the parked live event in one write.
        #expect(
            try fixture.writes(stream) == [": connected to node-t\n\n", FanoutFixture.frames(3...5).joined()])
        #expect(fixture.stats.replayRetries.load(ordering: .relaxed) == 2)
        #expect(fixture.stats.streamErrors.load(ordering: .relaxed) == 0)
    }

    @Test func aReplayWhoseThirdReadFailsTooClosesTheStreamForItsClientToComeBack() throws {
        let fixture = FanoutFixture()
        fixture.startConnected()
        let stream = try fixture.openConfirmed(["t"], lastEventID: FanoutFixture.id(2))
        for pause in [200, 400] {
            fixture.history.answer(.failure(Self.lost))
            fixture.settle()
            Self.pause(fixture, .milliseconds(Int64(pause)))
        }
        #expect(fixture.history.pending.count == 1)
        #expect(stream.isOpen)
        fixture.history.answer(.failure(Self.lost))
        fixture.settle()
        #expect(!stream.isOpen)
        #expect(!fixture.channel(of: stream).isActive)
        // No fourth read, even after a pause.
        Self.pause(fixture, .seconds(2))
        #expect(fixture.history.pending.isEmpty)
        #expect(fixture.stats.replayRetries.load(ordering: .relaxed) == 2)
        #expect(fixture.stats.streamErrors.load(ordering: .relaxed) == 1)
    }

    @Test func aPositionedReplayReadsAgainFromTheSameEntriesAfterAFailure() throws {
        let fixture = FanoutFixture(idsPerTopic: true)
        let (stream, _, b7, reads) = try fixture.openPositionedAtA5B7()
        #expect(fixture.history.pending == reads)
        fixture.history.answer(.events([]))
        fixture.history.answer(.failure(Self.lost))
        fixture.settle()
        #expect(fixture.history.pending.isEmpty)
        Self.pause(fixture, .milliseconds(200))
        #expect(fixture.history.pending == reads)
        let a6 = EventID(milliseconds: 6, sequence: 0)
        fixture.history.answer(
            .events([TopicEvent(topic: Self.topic("a"), event: ServerSentEvent(id: a6, data: "a6"))]))
        fixture.history.answer(.events([]))
        fixture.settle()
        let position = try SSEProtocol.StreamPosition([Self.topic("a"): a6, Self.topic("b"): b7]).description
        #expect(try fixture.writes(stream) == [": connected to node-t\n\n", "id: \(position)\ndata: a6\n\n"])
        #expect(fixture.stats.replayRetries.load(ordering: .relaxed) == 1)
    }
}
