import LocalRedis
import NIOCore
import RedisClient
import SSEHistory
import SSEProtocol
import Testing

/// `sse_history` with the topic that issued the id: the check that tells a quiet topic from data lost in a failover.
@Suite("Replay after an id that must still be in its topic's history (real redis-server)")
struct HistoryIssuedInTests {
    static let (alpha, beta) = (try! Topic(validating: "alpha"), try! Topic(validating: "beta"))

    @Test func anIdItsTopicNoLongerHoldsIsUnknownEvenWhenTheClockHasMovedPastIt() async throws {
        try await withLocalRedis { server in
            let connection = try await RedisConnection.connect(configuration: server.configuration)
            defer { connection.closeNow() }
            let history = History(runner: connection)
            let first = try await history.publish(Self.alpha, event: nil, data: "a1", maxLength: 100)
            let second = try await history.publish(Self.alpha, event: nil, data: "a2", maxLength: 100)
            let third = try await history.publish(Self.beta, event: nil, data: "b3", maxLength: 100)

            // Held: the events after it, with or without the check.
            #expect(
                try await history.events(after: first, in: [Self.alpha, Self.beta], limit: 10, issuedIn: Self.alpha)
                    == .events([
                        TopicEvent(topic: Self.alpha, event: ServerSentEvent(id: second, data: "a2")),
                        TopicEvent(topic: Self.beta, event: ServerSentEvent(id: third, data: "b3")),
                    ]))
            // The topic that issued it is read for the check but its events are left out when not asked for.
            #expect(
                try await history.events(after: first, in: [Self.beta], limit: 10, issuedIn: Self.alpha)
                    == .events([TopicEvent(topic: Self.beta, event: ServerSentEvent(id: third, data: "b3"))]))

            // As after a failover to a replica that never received `second`: the entry is gone, the clock went on.
            try await Self.dropEntry(second, of: Self.alpha, on: connection)
            #expect(
                try await history.events(after: second, in: [Self.alpha, Self.beta], limit: 10, issuedIn: Self.alpha)
                    == .unknownID)
            // Without the check the hole is invisible: that is what a plain id on a Cluster stream accepts.
            #expect(
                try await history.events(after: second, in: [Self.alpha, Self.beta], limit: 10)
                    == .events([TopicEvent(topic: Self.beta, event: ServerSentEvent(id: third, data: "b3"))]))
            // An id trimmed away is a trimmed history, not a loss.
            _ = try await history.publish(Self.alpha, event: nil, data: "a4", maxLength: 0)
            #expect(
                try await history.events(after: first, in: [Self.alpha], limit: 10, issuedIn: Self.alpha)
                    == .trimmed(Self.alpha))
            // A bad index is refused by the function with a clear error.
            await #expect {
                try await connection.send(
                    "FCALL", "sse_history", 2, HistoryLibrary.clockKey, Self.alpha.historyKey, first.description, 10, 2)
            } throws: { error in
                "\(error)".contains("stream index \"2\" is not between 1 and 1")
            }
        }
    }

    /// Removes one entry the way a lost write is absent (``LocalRedis/dropStreamEntry(_:of:on:)``).
    static func dropEntry(_ id: EventID, of topic: Topic, on connection: RedisConnection) async throws {
        try await dropStreamEntry(id.description, of: topic.historyKey, on: connection)
    }
}
