import Foundation
import LocalRedis
import RedisClient
import SSEHistory
import SSEProtocol
import SSETestSupport
import Testing

/// An event Redis acknowledged and then lost before any node relayed it (the primary died between its reply and its
/// push): no node can tell, so the publisher's check marks the hole (``History/confirmAcknowledged(limit:maxLength:)``)
/// and the gateway delivers the marker, live and in replay, as any reliable event.
@Suite("Gateway with a loss no node saw, marked by the publisher's check (real redis-server and sse-gateway)")
struct GatewayUnseenLossTests {
    static let topic = try! Topic(validating: "orders")

    @Test func liveStreamsAndAResumeAcrossTheHoleGetTheResyncMarkerWithItsId() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(redis: redis)
            let admin = try await RedisConnection.connect(configuration: redis.configuration)
            defer { admin.closeNow() }
            let client = RedisClient(configuration: redis.configuration)
            var history = History(runner: client)
            history.acknowledged = AcknowledgedEvents()

            let early = try await SSETestClient.open(port: node.port, path: "/sse?topic=orders")
            try await early.waitUntilConnected()
            let kept = try await history.publish(Self.topic, event: nil, data: "kept", maxLength: 100)
            try await waitUntil("the kept event is relayed") { early.events.map(\.data) == ["kept"] }
            early.close()

            // Acknowledged, then gone with its primary before any stream got it: the history and clock are as the
            // promoted replica has them, and the publisher's connection is replaced.
            let lost = try await history.publish(Self.topic, event: nil, data: "lost", maxLength: 100)
            try await dropStreamEntry(lost.description, of: Self.topic.historyKey, on: admin)
            _ = try await admin.send("HSET", HistoryLibrary.clockKey, "last", kept.description)
            let publisherID = try #require(try await client.openConnection?.send("CLIENT", "ID").int)
            _ = try await admin.send("CLIENT", "KILL", "ID", "\(publisherID)")
            try await waitUntil("the publisher saw its connection close") { client.openConnection == nil }

            let live = try await SSETestClient.open(port: node.port, path: "/sse?topic=orders")
            try await live.waitUntilConnected()
            let found = try await history.confirmAcknowledged(maxLength: 100)
            #expect(found.map(\.1) == [lost])

            let notice = #"{"reason":"events-lost","topics":["orders"]}"#
            try await waitUntil("the live stream is told") { !live.events.isEmpty }
            let marker = try #require(live.events.first?.id)
            #expect(live.events.map { [$0.id, $0.event, $0.data] } == [[marker, "resync", notice]])
            #expect(try EventID(parsing: marker) > lost)

            // A stream that resumes after the last kept id crosses the hole: the marker, then live events.
            let resumed = try await SSETestClient.open(
                port: node.port, path: "/sse?topic=orders", headers: [("Last-Event-ID", kept.description)])
            try await waitUntil("the resumed stream is told") { !resumed.events.isEmpty }
            let next = try await history.publish(Self.topic, event: nil, data: "next", maxLength: 100)
            try await waitUntil("both streams get the next event") {
                resumed.events.count == 2 && live.events.count == 2
            }
            #expect(
                resumed.events.map { [$0.id, $0.event, $0.data] }
                    == [[marker, "resync", notice], [next.description, nil, "next"]])
            #expect(live.events.last.map { [$0.id, $0.event, $0.data] } == [next.description, nil, "next"])
            // Resuming after the marker: nothing to replay, no second notice.
            let after = try await SSETestClient.open(
                port: node.port, path: "/sse?topic=orders", headers: [("Last-Event-ID", marker)])
            try await after.waitUntilConnected()
            let last = try await history.publish(Self.topic, event: nil, data: "last", maxLength: 100)
            try await waitUntil("the stream resumed after the marker gets the live events") {
                after.events.map(\.id).contains(last.description)
            }
            #expect(after.events.map(\.data) == ["next", "last"])
            for stream in [live, resumed, after] { stream.close() }
            await client.close()
        }
    }
}
