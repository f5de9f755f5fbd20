import LocalRedis
import NIOCore
import RedisClient
import SSEHistory
import SSEProtocol
import Testing

/// The per-topic reads (positions per topic, last ids) on a single Redis, where every topic shares `sse:clock`.
@Suite("Per-topic replay and last ids on a single Redis")
struct PerTopicHistoryTests {
    static let topics = try! ["north", "south", "east"].map { try Topic(validating: $0) }

    @Test func eachTopicResumesAfterItsOwnIdAndLastIDsAreTheSharedClocks() async throws {
        try await withLocalRedis { server in
            let connection = try await RedisConnection.connect(configuration: server.configuration)
            defer { connection.closeNow() }
            let history = History(runner: connection)
            #expect(!history.isCluster)
            #expect(try await history.lastIDs(of: Self.topics) == [:])
            var ids: [Topic: [EventID]] = [:]
            for round in 0..<4 {
                for topic in Self.topics {
                    ids[topic, default: []].append(
                        try await history.publish(topic, event: nil, data: "\(topic)\(round)", maxLength: 100))
                }
            }
            let last = ids[Self.topics[2]]!.last!
            #expect(
                try await history.lastIDs(of: Self.topics)
                    == Dictionary(uniqueKeysWithValues: Self.topics.map { ($0, last) }))
            let positions = [Self.topics[0]: ids[Self.topics[0]]![0], Self.topics[1]: ids[Self.topics[1]]![2]]
            let resumed = try await history.events(after: positions, limit: 100)
            #expect(Set(resumed.keys) == Set(positions.keys))
            for (topic, id) in positions {
                // Exactly what the one-topic form answers.
                #expect(resumed[topic] == (try await history.events(after: id, in: [topic], limit: 100)))
            }
            guard case .events(let north)? = resumed[Self.topics[0]] else {
                Issue.record("no events for \(Self.topics[0])")
                return
            }
            #expect(north.map { $0.event.id! } == Array(ids[Self.topics[0]]![1...]))
            #expect(north.map { String(buffer: $0.event.data) } == ["north1", "north2", "north3"])
            #expect(
                try await history.events(after: [Self.topics[1]: ids[Self.topics[1]]![0]], limit: 2)
                    == [Self.topics[1]: .limitExceeded(Self.topics[1])])
            #expect(
                try await history.events(after: [Self.topics[1]: EventID(milliseconds: 1, sequence: 0)], limit: 2)
                    == [Self.topics[1]: .unknownID])
            // Fire-and-forget on one Redis is a classic PUBLISH (no subscriber here).
            #expect(try await history.publishFireAndForget(Self.topics[0], payload: "live") == 0)
            // The single-Redis form still uses sse_publish and the shared clock.
            let command = History.publishCommand(Self.topics[0], event: nil, data: "x", maxLength: 10)
            #expect(history.publishCommand(Self.topics[0], event: nil, data: "x", maxLength: 10) == command)
        }
    }
}
