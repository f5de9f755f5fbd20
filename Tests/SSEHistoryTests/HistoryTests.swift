import LocalRedis
import NIOCore
import RedisClient
import SSEHistory
import SSEProtocol
import Synchronization
import Testing

@Suite("Reliable publish and replay against a real redis-server")
struct HistoryTests {
    static let topics = try! ["alpha", "beta", "gamma"].map { try Topic(validating: $0) }
    static let patch = try! EventName(validating: "patch")

    static func connect(_ server: LocalRedisServer) async throws -> (RedisConnection, History) {
        let connection = try await RedisConnection.connect(configuration: server.configuration)
        return (connection, History(runner: connection))
    }

    static func isStrictlyIncreasing(_ ids: [EventID]) -> Bool {
        zip(ids, ids.dropFirst()).allSatisfy { $0 < $1 }
    }

    @Test func idsStrictlyIncreaseAcrossTopicsEvenInOnePipeline() async throws {
        try await withLocalRedis { server in
            let (connection, history) = try await Self.connect(server)
            defer { connection.closeNow() }
            var ids: [EventID] = []
            for index in 0..<30 {
                ids.append(
                    try await history.publish(Self.topics[index % 3], event: nil, data: "s\(index)", maxLength: 5000))
            }
            let commands = (0..<1000).map { index in
                History.publishCommand(Self.topics[index % 3], event: Self.patch, data: "p\(index)", maxLength: 5000)
            }
            let replies = try await connection.pipeline(commands)
            ids += try replies.map { try History.eventID(fromPublishReply: $0) }

            #expect(ids.count == 1030)
            #expect(Self.isStrictlyIncreasing(ids))
            #expect(Set(ids).count == 1030)
            // 1,000 calls take far less than 1,000 ms, so many shared a millisecond and needed the sequence.
            #expect(ids.contains { $0.sequence > 0 })
            var lengths: [Int64] = []
            for topic in Self.topics { lengths.append(try await connection.send("XLEN", topic.historyKey).int ?? -1) }
            #expect(lengths == [344, 343, 343])
            let clock = try await connection.send("HMGET", HistoryLibrary.clockKey, "origin", "last")
            #expect(clock.array?.compactMap(\.string) == [ids.first!.description, ids.last!.description])
        }
    }

    @Test func theIdFollowsTheClockWhenServerTimeIsBehindIt() async throws {
        try await withLocalRedis { server in
            let (connection, history) = try await Self.connect(server)
            defer { connection.closeNow() }
            let topic = Self.topics[0]
            let now = try await connection.send("TIME").array!.first!.int! * 1000
            let future = UInt64(now + 3_600_000)
            try await connection.send("HSET", HistoryLibrary.clockKey, "last", "\(future)-5")
            #expect(
                try await history.publish(topic, event: nil, data: "a", maxLength: 10)
                    == EventID(milliseconds: future, sequence: 6))
            #expect(
                try await history.publish(topic, event: nil, data: "b", maxLength: 10)
                    == EventID(milliseconds: future, sequence: 7))

            // Without a clock, the id still goes past what the stream holds (XADD rejects smaller ids).
            try await connection.send("DEL", HistoryLibrary.clockKey)
            #expect(
                try await history.publish(topic, event: nil, data: "c", maxLength: 10)
                    == EventID(milliseconds: future, sequence: 8))
        }
    }

    @Test func subscribersReceiveTheReliableEnvelopeByteForByte() async throws {
        try await withLocalRedis { server in
            let (connection, history) = try await Self.connect(server)
            defer { connection.closeNow() }
            let received = Mutex<[ByteBuffer]>([])
            let subscriber = RedisSubscriber(configuration: server.configuration, eventLoop: connection.eventLoop) {
                if case .message(_, let payload) = $0 { received.withLock { $0.append(payload) } }
            }
            subscriber.start()
            let topic = Self.topics[1]
            try await subscriber.subscribe([topic.channel])

            let data = ByteBuffer(bytes: [0x00, 0x0D, 0x0A, 0xFF, 0x1E] + utf8("sse1 ünï\n"))
            let first = try await history.publish(topic, event: "patch", data: data, maxLength: 10)
            let second = try await history.publish(topic, event: nil, data: "plain", maxLength: 10)
            try await waitUntil("two messages") { received.withLock { $0.count } == 2 }
            await subscriber.close()

            let payloads = received.withLock { $0 }
            #expect(payloads[0] == RedisEnvelope.encodeReliable(id: first, event: Self.patch, data: data))
            #expect(
                payloads[1] == RedisEnvelope.encodeReliable(id: second, event: nil, data: ByteBuffer(string: "plain")))
            #expect(payloads[0].allBytes == [0x1E] + utf8("sse1 \(first) patch\n") + data.allBytes)
            #expect(RedisEnvelope.decode(payloads[0]) == ServerSentEvent(id: first, event: Self.patch, data: data))
            #expect(RedisEnvelope.decode(payloads[1]) == ServerSentEvent(id: second, data: "plain"))
        }
    }

    @Test func replayReturnsTheLaterEventsOfTheRequestedTopicsInIdOrder() async throws {
        try await withLocalRedis { server in
            let (connection, history) = try await Self.connect(server)
            defer { connection.closeNow() }
            let (alpha, beta, gamma) = (Self.topics[0], Self.topics[1], Self.topics[2])
            var published: [TopicEvent] = []
            for (topic, event, data) in [
                (alpha, "patch", "a1"), (beta, nil, "b1"), (gamma, "patch", "c1"), (alpha, nil, "a2\nline"),
                (beta, "patch", "b2"), (gamma, nil, "c2"), (alpha, "patch", "a3"),
            ] as [(Topic, String?, String)] {
                let id = try await history.publish(topic, event: event, data: data, maxLength: 100)
                published.append(
                    TopicEvent(
                        topic: topic,
                        event: ServerSentEvent(id: id, event: event.map { try! EventName(validating: $0) }, data: data))
                )
            }
            let afterB1 = published[1].event.id!
            let expected = [published[3], published[4], published[6]]
            #expect(try await history.events(after: afterB1, in: [alpha, beta], limit: 100) == .events(expected))
            #expect(try await history.events(after: afterB1, in: [beta, alpha], limit: 100) == .events(expected))
            #expect(
                try await history.events(after: published[0].event.id!, in: Self.topics, limit: 100)
                    == .events(Array(published.dropFirst())))
            #expect(try await history.events(after: published[6].event.id!, in: Self.topics, limit: 100) == .events([]))
            #expect(try await history.events(after: afterB1, in: [alpha], limit: 1) == .limitExceeded(alpha))
            #expect(try await history.events(after: afterB1, in: [], limit: 100) == .events([]))
        }
    }

    @Test func replayFromAnIdOlderThanTrimmedHistoryReportsTheGap() async throws {
        try await withLocalRedis { server in
            let (connection, history) = try await Self.connect(server)
            defer { connection.closeNow() }
            let (alpha, beta) = (Self.topics[0], Self.topics[1])
            let betaID = try await history.publish(beta, event: nil, data: "b", maxLength: 10)
            var ids: [EventID] = []
            for index in 0..<40 {
                ids.append(try await history.publish(alpha, event: nil, data: "a\(index)", maxLength: 10))
            }

            let info = try await connection.send("XINFO", "STREAM", alpha.historyKey).array!
            let field = info.firstIndex { $0.string == "max-deleted-entry-id" }!
            let maxDeleted = try EventID(parsing: info[field + 1].string!)
            // maxLength 10 trims in batches of one: exactly the last ten remain.
            #expect(maxDeleted == ids[29])
            #expect(try await connection.send("XLEN", alpha.historyKey) == .integer(10))

            #expect(try await history.events(after: ids[0], in: [beta, alpha], limit: 100) == .trimmed(alpha))
            #expect(try await history.events(after: betaID, in: [beta, alpha], limit: 100) == .trimmed(alpha))
            let kept = zip(ids.indices, ids).filter { $0.1 > maxDeleted }.map { index, id in
                TopicEvent(topic: alpha, event: ServerSentEvent(id: id, data: "a\(index)"))
            }
            #expect(kept.count == 10)
            #expect(try await history.events(after: ids[28], in: [alpha], limit: 100) == .trimmed(alpha))
            #expect(try await history.events(after: maxDeleted, in: [beta, alpha], limit: 100) == .events(kept))
        }
    }

    static func maxDeletedID(_ connection: RedisConnection, _ topic: Topic) async throws -> String? {
        let info = try await connection.send("XINFO", "STREAM", topic.historyKey).array ?? []
        return info.firstIndex { $0.string == "max-deleted-entry-id" }.flatMap { info[$0 + 1].string }
    }

    @Test func historyIsTrimmedInBatchesOfATenthAndRecordsTheNewestTrimmedID() async throws {
        try await withLocalRedis { server in
            let (connection, history) = try await Self.connect(server)
            defer { connection.closeNow() }
            let topic = Self.topics[0]
            var ids: [EventID] = []
            var lengths: [Int64] = []
            for index in 0..<24 {
                ids.append(try await history.publish(topic, event: nil, data: "\(index)", maxLength: 20))
                lengths.append(try await connection.send("XLEN", topic.historyKey).int ?? -1)
            }
            // Up to 20 + 20/10 entries, then back to 20.
            #expect(lengths == Array(1...21) + [20, 21, 20])
            #expect(try await Self.maxDeletedID(connection, topic) == ids[3].description)

            // An entry deleted by hand (XDEL) that is newer than what trimming removes stays the maximum.
            try await connection.send("XDEL", topic.historyKey, ids[10].description)
            for index in 24..<27 {
                ids.append(try await history.publish(topic, event: nil, data: "\(index)", maxLength: 20))
            }
            // 19 + 3 = 22 entries: ids 4 and 5 were trimmed, older than the deleted id 10.
            #expect(try await connection.send("XLEN", topic.historyKey) == .integer(20))
            #expect(
                try await connection.send("XRANGE", topic.historyKey, "-", "+", "COUNT", 1).array?.first?.array?.first?
                    .string == ids[6].description)
            #expect(try await Self.maxDeletedID(connection, topic) == ids[10].description)
            #expect(try await history.events(after: ids[9], in: [topic], limit: 100) == .trimmed(topic))
        }
    }

    @Test func replayAfterRedisLostItsDataReportsAnUnknownID() async throws {
        try await withLocalRedis { server in
            let (connection, history) = try await Self.connect(server)
            defer { connection.closeNow() }
            let topic = Self.topics[0]
            let old = try await history.publish(topic, event: nil, data: "before", maxLength: 10)
            #expect(try await history.events(after: old, in: [topic], limit: 10) == .events([]))
            let future = EventID(milliseconds: old.milliseconds + 60_000, sequence: 0)
            #expect(try await history.events(after: future, in: [topic], limit: 10) == .unknownID)

            try await connection.send("FLUSHALL")
            #expect(try await history.events(after: old, in: [topic], limit: 10) == .unknownID)
            let fresh = try await history.publish(topic, event: nil, data: "after", maxLength: 10)
            #expect(fresh > old)
            #expect(try await history.events(after: old, in: [topic], limit: 10) == .unknownID)
            #expect(try await history.events(after: fresh, in: [topic], limit: 10) == .events([]))
        }
    }

    @Test func functionsLostByRedisAreLoadedAgainOnFirstUse() async throws {
        try await withLocalRedis { server in
            let (connection, history) = try await Self.connect(server)
            defer { connection.closeNow() }
            let topic = Self.topics[2]
            try await history.install()
            try await connection.send("FUNCTION", "FLUSH")
            let id = try await history.publish(topic, event: "patch", data: "x", maxLength: 10)
            #expect(try await connection.send("FUNCTION", "LIST", "LIBRARYNAME", "sse").array?.count == 1)

            try await connection.send("FUNCTION", "FLUSH")
            let replay = try await history.events(
                after: EventID(milliseconds: id.milliseconds, sequence: 0), in: [topic], limit: 10)
            let expected =
                id.sequence == 0
                ? [] : [TopicEvent(topic: topic, event: ServerSentEvent(id: id, event: Self.patch, data: "x"))]
            #expect(replay == .events(expected))
        }
    }

    @Test func invalidEventNamesAreRejectedOnBothSides() async throws {
        try await withLocalRedis { server in
            let (connection, history) = try await Self.connect(server)
            defer { connection.closeNow() }
            let topic = Self.topics[0]
            await #expect(throws: SSEProtocolError.invalidEventName("a\nb")) {
                _ = try await history.publish(topic, event: "a\nb", data: "x", maxLength: 10)
            }
            try await history.install()
            let reply = try await connection.pipeline([
                RedisCommand(
                    "FCALL", "sse_publish", 2, topic.historyKey, HistoryLibrary.clockKey, topic.channel, 10, "a\rb", "x"
                )
            ])
            #expect(
                reply == [
                    .error(
                        "ERR sse_publish: event name is invalid: use at most 64 bytes without CR, LF or NUL "
                            + "and without leading or trailing spaces"
                    )
                ])
            #expect(try await connection.send("EXISTS", topic.historyKey, HistoryLibrary.clockKey) == .integer(0))
        }
    }
}
