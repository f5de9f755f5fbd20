import LocalRedis
import NIOCore
import RedisClient
import SSEHistory
import SSEProtocol
import Synchronization
import Testing

/// `sse_confirm` and the publisher's rounds over ``AcknowledgedEvents``: an acknowledged event the primary lost
/// before any node saw it is marked with a `resync` event in its topic's history and on its channel.
@Suite("The publisher's check of acknowledged events after a failover (real redis-server)")
struct ConfirmAcknowledgedTests {
    static let topic = try! Topic(validating: "orders")

    @Test func aHeldOrTrimmedIdIsHeldAndALostOneIsMarkedAboveItInHistoryAndOnTheChannel() async throws {
        try await withLocalRedis { server in
            let connection = try await RedisConnection.connect(configuration: server.configuration)
            defer { connection.closeNow() }
            let history = History(runner: connection)
            let kept = try await history.publish(Self.topic, event: nil, data: "kept", maxLength: 100)
            #expect(try await history.confirm(Self.topic, acknowledged: kept, maxLength: 100) == .held)

            // As after a failover to a replica that never received `lost`: neither the entry nor the clock's step.
            let lost = try await history.publish(Self.topic, event: "order", data: "lost", maxLength: 100)
            try await HistoryIssuedInTests.dropEntry(lost, of: Self.topic, on: connection)
            _ = try await connection.send("HSET", HistoryLibrary.clockKey, "last", kept.description)

            let received = Mutex<[ByteBuffer]>([])
            let subscriber = RedisSubscriber(configuration: server.configuration, eventLoop: connection.eventLoop) {
                if case .message(_, let payload) = $0 { received.withLock { $0.append(payload) } }
            }
            subscriber.start()
            try await subscriber.subscribe([Self.topic.channel])
            guard
                case .lost(let marker, isNew: true) = try await history.confirm(
                    Self.topic, acknowledged: lost, maxLength: 100)
            else {
                Issue.record("the lost id was not found lost")
                return
            }
            #expect(marker > lost, "the marker's id is above every id a client may hold")
            let notice = #"{"reason":"events-lost","topics":["orders"]}"#
            let resync = ServerSentEvent(id: marker, event: try EventName(validating: "resync"), data: notice)
            // In history: a replay after the last kept id crosses the hole and gets the marker.
            #expect(
                try await history.events(after: kept, in: [Self.topic], limit: 10)
                    == .events([TopicEvent(topic: Self.topic, event: resync)]))
            // On the channel: the reliable envelope, byte for byte, once.
            try await waitUntil("the marker on the channel") { received.withLock { $0.count } == 1 }
            await subscriber.close()
            #expect(
                received.withLock { $0.map(\.allBytes) } == [[0x1E] + utf8("sse1 \(marker) resync\n") + utf8(notice)])
            // A second check of the same lost id answers the same marker and publishes nothing.
            #expect(
                try await history.confirm(Self.topic, acknowledged: lost, maxLength: 100)
                    == .lost(marker: marker, isNew: false))
            // The marker itself is held; the clock goes on above it.
            #expect(try await history.confirm(Self.topic, acknowledged: marker, maxLength: 100) == .held)
            let next = try await history.publish(Self.topic, event: nil, data: "next", maxLength: 100)
            #expect(next > marker)

            // Trimmed away is held, not lost.
            _ = try await history.publish(Self.topic, event: nil, data: "trim", maxLength: 0)
            #expect(try await history.confirm(Self.topic, acknowledged: kept, maxLength: 100) == .held)
            // An id the clock does not cover (Redis lost everything) is for readers to find: nothing is published.
            let wiped = try Topic(validating: "wiped")
            let gone = try await history.publish(wiped, event: nil, data: "gone", maxLength: 100)
            _ = try await connection.send("DEL", wiped.historyKey, HistoryLibrary.clockKey)
            #expect(try await history.confirm(wiped, acknowledged: gone, maxLength: 100) == .unknown)
            #expect(try await connection.send("EXISTS", wiped.historyKey).int == 0)
            await #expect {
                try await connection.send(
                    "FCALL", "sse_confirm", 3, Self.topic.historyKey, HistoryLibrary.clockKey,
                    Self.topic.channel + ":idem:x", Self.topic.channel, 10, "yesterday", notice)
            } throws: { error in
                "\(error)".contains("sse_confirm: id \"yesterday\" is malformed, expected <ms>-<seq>")
            }
        }
    }

    @Test func aRoundChecksOnlyTopicsWhoseConnectionWasReplacedAndMarksEachLossOnce() async throws {
        try await withLocalRedis { server in
            let admin = try await RedisConnection.connect(configuration: server.configuration)
            defer { admin.closeNow() }
            let client = RedisClient(configuration: server.configuration)
            var history = History(runner: client)
            let acknowledged = AcknowledgedEvents()
            history.acknowledged = acknowledged
            let quiet = try Topic(validating: "quiet")
            _ = try await history.publish(quiet, event: nil, data: "q1", maxLength: 100)
            let kept = try await history.publish(Self.topic, event: nil, data: "kept", maxLength: 100)
            let lost = try await history.publish(Self.topic, event: nil, data: "lost", maxLength: 100)
            #expect(acknowledged.count == 2)
            #expect(acknowledged.id(of: Self.topic) == lost)

            // The connection that answered is still open: nothing to check, not one call.
            let calls = try await Self.functionCalls(admin)
            #expect(try await history.confirmAcknowledged(maxLength: 100).isEmpty)
            #expect(try await Self.functionCalls(admin) == calls)

            // The write is lost and the publisher's connection goes (as when its primary dies).
            try await Self.lose(lost, keeping: kept, on: admin, closing: client)

            let found = try await history.confirmAcknowledged(maxLength: 100)
            #expect(found.map(\.0) == [Self.topic] && found.map(\.1) == [lost])
            #expect(acknowledged.lostFound == 1)
            let marker = try #require(acknowledged.id(of: Self.topic))
            #expect(marker > lost)
            // Checked again on the new connection (the round could not know it before connecting): held, no second
            // marker; then nothing is due.
            #expect(try await history.confirmAcknowledged(maxLength: 100).isEmpty)
            let settled = try await Self.functionCalls(admin)
            #expect(try await history.confirmAcknowledged(maxLength: 100).isEmpty)
            #expect(try await Self.functionCalls(admin) == settled)
            guard case .events(let events) = try await history.events(after: kept, in: [Self.topic], limit: 10) else {
                Issue.record("no history")
                return
            }
            #expect(events.map(\.event.event) == ["resync"])
            #expect(events.map(\.event.id) == [marker])
            #expect(acknowledged.lostFound == 1)
            await client.close()
        }
    }

    @Test func aPublishOnTheNewConnectionBeforeTheRoundDoesNotHideTheLostId() async throws {
        try await withLocalRedis { server in
            let admin = try await RedisConnection.connect(configuration: server.configuration)
            defer { admin.closeNow() }
            let client = RedisClient(configuration: server.configuration)
            var history = History(runner: client)
            let acknowledged = AcknowledgedEvents()
            history.acknowledged = acknowledged
            let kept = try await history.publish(Self.topic, event: nil, data: "kept", maxLength: 100)
            let lost = try await history.publish(Self.topic, event: nil, data: "lost", maxLength: 100)
            try await Self.lose(lost, keeping: kept, on: admin, closing: client)

            // The first publish after the failover is answered on the new connection before any round ran.
            let after = try await history.publish(Self.topic, event: nil, data: "after", maxLength: 100)
            #expect(acknowledged.id(of: Self.topic) == after)
            let found = try await history.confirmAcknowledged(maxLength: 100)
            #expect(found.map(\.0) == [Self.topic] && found.map(\.1) == [lost])
            #expect(acknowledged.lostFound == 1)
            // The newer id still stands for the topic, on its open connection: the next round sends nothing.
            #expect(acknowledged.id(of: Self.topic) == after)
            let calls = try await Self.functionCalls(admin)
            #expect(try await history.confirmAcknowledged(maxLength: 100).isEmpty)
            #expect(try await Self.functionCalls(admin) == calls)
            guard case .events(let events) = try await history.events(after: kept, in: [Self.topic], limit: 10) else {
                Issue.record("no history")
                return
            }
            // The event published after the failover, then the marker above the lost id.
            #expect(events.map(\.event.event) == [nil, "resync"])
            #expect(events.first?.event.id == after)
            #expect(events.last.map { $0.event.id! > lost } == true)
            await client.close()
        }
    }

    @Test func theLeastRecentlyPublishedTopicsGoFirstBeyondTheCapacity() async throws {
        try await withLocalRedis { server in
            let connection = try await RedisConnection.connect(configuration: server.configuration)
            defer { connection.closeNow() }
            let acknowledged = AcknowledgedEvents(capacity: 10)
            for index in 0..<12 {
                acknowledged.record(
                    try Topic(validating: "t\(index)"), id: EventID(milliseconds: 1, sequence: UInt64(index)),
                    on: connection)
            }
            // 12 > 10 + 1: the two least recently published are dropped.
            #expect(acknowledged.count == 10)
            #expect(acknowledged.id(of: try Topic(validating: "t0")) == nil)
            #expect(acknowledged.id(of: try Topic(validating: "t1")) == nil)
            let last = try Topic(validating: "t11")
            #expect(acknowledged.id(of: last) == EventID(milliseconds: 1, sequence: 11))
            // On the same connection an older id (a replayed idempotent publish) does not replace a newer one.
            acknowledged.record(last, id: EventID(milliseconds: 1, sequence: 3), on: connection)
            #expect(acknowledged.id(of: last) == EventID(milliseconds: 1, sequence: 11))
        }
    }

    /// As a failover to a replica that never got `lost`: its entry and the clock's step are gone, and the
    /// publisher's connection is closed (as when its primary dies).
    static func lose(_ lost: EventID, keeping kept: EventID, on admin: RedisConnection, closing client: RedisClient)
        async throws
    {
        try await HistoryIssuedInTests.dropEntry(lost, of: topic, on: admin)
        _ = try await admin.send("HSET", HistoryLibrary.clockKey, "last", kept.description)
        _ = try await admin.send("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        try await waitUntil("the client saw its connection close") { client.openConnection == nil }
    }

    /// `FCALL` calls served so far (`INFO commandstats`).
    static func functionCalls(_ connection: RedisConnection) async throws -> Int {
        let info = try await connection.send("INFO", "commandstats").string ?? ""
        guard let line = info.split(separator: "\r\n").first(where: { $0.hasPrefix("cmdstat_fcall:") }),
            let calls = line.split(separator: ",").first?.split(separator: "=").last
        else { return 0 }
        return Int(calls) ?? 0
    }
}
