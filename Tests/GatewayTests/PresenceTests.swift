import Foundation
import Gateway
import LocalRedis
import RedisClient
import SSEProtocol
import SSETestSupport
import Synchronization
import Testing

/// Issue 16, point 4: presence across nodes. `GET /sse-presence?topic=T` sums the live nodes' registry documents
/// (streams, the subjects of token-authorized streams, nodes), and with `SSE_PRESENCE_EVENTS` a node publishes `join`
/// and `leave` on `T.presence` for a subject's first and last stream of `T` on that node.
@Suite("Presence (real redis-server and two sse-gateway nodes)")
struct PresenceTests {
    static let key: TestTokenKey = {
        do { return try TestTokenKey() } catch { fatalError("\(error)") }
    }()

    static func bearer(_ subject: String?, _ topics: [String] = ["room"]) -> [(String, String)] {
        TestTokenKey.bearer(key.token(subscribe: topics, subject: subject))
    }

    static func presence(port: Int, topic: String, subject: String? = "alice") async throws -> ClusterPresence? {
        let answer = try await HTTPProbe.get(
            port: port, path: "/sse-presence?topic=\(topic)", headers: bearer(subject, [topic]))
        guard answer.status == 200 else { return nil }
        return try JSONDecoder().decode(ClusterPresence.self, from: Data(answer.body.utf8))
    }

    /// The `join`/`leave` data a node publishes.
    static func transition(_ kind: String, _ subject: String, on port: Int) -> SSETestClient.Event {
        SSETestClient.Event(
            event: kind, data: #"{"node":"test-\#(port)","subject":"\#(subject)","topic":"room"}"#)
    }

    @Test func presenceCountsStreamsAndSubjectsAcrossTwoNodesAndJoinsAndLeavesArriveInOrder() async throws {
        try await withLocalRedis { redis in
            let arguments = Self.key.gatewayArguments + ["--public-topic", "board", "--presence-events", "true"]
            let a = try await GatewayProcess.start(redis: redis, arguments: arguments)
            let b = try await GatewayProcess.start(redis: redis, arguments: arguments)
            let follower = try await SSETestClient.open(
                port: a.port, path: "/sse?topic=room.presence", headers: Self.bearer(nil, ["room.presence"]))
            defer { follower.close() }
            try await follower.waitUntilConnected()
            var expected: [SSETestClient.Event] = []
            var open: [String: SSETestClient] = [:]
            defer { for client in open.values { client.close() } }
            /// Opens a stream and waits for the events it should cause (none: the next step's wait covers it).
            func step(
                _ name: String, on node: GatewayProcess, path: String = "/sse?topic=room", subject: String?,
                causes events: [SSETestClient.Event]
            ) async throws {
                let client = try await SSETestClient.open(
                    port: node.port, path: path, headers: subject.map { Self.bearer($0, ["room", "board"]) } ?? [])
                open[name] = client
                try await client.waitUntilConnected()
                expected += events
                try await follower.waitForEvents(expected.count, timeout: .seconds(5))
            }
            try await step("alice1", on: a, subject: "alice", causes: [Self.transition("join", "alice", on: a.port)])
            try await step("alice2", on: a, subject: "alice", causes: [])
            try await step("bob", on: a, subject: "bob", causes: [Self.transition("join", "bob", on: a.port)])
            try await step("alice3", on: b, subject: "alice", causes: [Self.transition("join", "alice", on: b.port)])
            try await step(
                "carol", on: b, path: "/sse?topic=room&topic=board", subject: "carol",
                causes: [Self.transition("join", "carol", on: b.port)])
            try await step("board1", on: b, path: "/sse?topic=board", subject: nil, causes: [])
            try await step("board2", on: b, path: "/sse?topic=board", subject: nil, causes: [])

            // Within a beat both nodes' documents show every stream.
            let room = Mutex<ClusterPresence?>(nil)
            try await waitUntil("five streams of room on two nodes", timeout: .seconds(5), every: .milliseconds(50)) {
                let answer = try await Self.presence(port: a.port, topic: "room")
                room.withLock { $0 = answer }
                return answer?.streams == 5
            }
            #expect(
                room.withLock { $0 }
                    == ClusterPresence(
                        topic: "room", streams: 5, subjects: ["alice", "bob", "carol"], subjectsTruncated: false,
                        nodes: 2, complete: true))
            // A public topic's presence names nobody, even for a stream that also held a token. (Its last two
            // streams opened after carol's, so the beat that showed room's five may not have them yet.)
            let boardAnswer = Mutex<ClusterPresence?>(nil)
            try await waitUntil("three streams of board", timeout: .seconds(5), every: .milliseconds(50)) {
                let answer = try await Self.presence(port: b.port, topic: "board", subject: nil)
                boardAnswer.withLock { $0 = answer }
                return answer?.streams == 3
            }
            let board = boardAnswer.withLock { $0 }
            #expect(
                board
                    == ClusterPresence(
                        topic: "board", streams: 3, subjects: [], subjectsTruncated: false, nodes: 1, complete: true))
            let nobody = try await Self.presence(port: a.port, topic: "nobody.here", subject: "x")
            #expect(nobody?.streams == 0 && nobody?.nodes == 0 && nobody?.subjects == [])

            // A private topic's presence is authorized as a stream of it would be; a topic is required and valid.
            let refused = try await HTTPProbe.get(port: a.port, path: "/sse-presence?topic=room")
            #expect(refused.status == 401)
            let missing = try await HTTPProbe.get(port: a.port, path: "/sse-presence")
            #expect(missing.status == 400)
            #expect(missing.body == "missing topic: use /sse-presence?topic=NAME\n")
            let invalid = try await HTTPProbe.get(port: a.port, path: "/sse-presence?topic=a%20b")
            #expect(invalid.status == 400)
            #expect(
                invalid.body == "topic \"a b\" is invalid: use letters, digits and - _ . : (1–128 characters)\n")

            // Leaves: only a subject's last stream on a node.
            func close(_ name: String, causes events: [SSETestClient.Event]) async throws {
                open.removeValue(forKey: name)?.close()
                expected += events
                try await follower.waitForEvents(expected.count, timeout: .seconds(5))
            }
            try await close("alice1", causes: [])
            try await close("alice2", causes: [Self.transition("leave", "alice", on: a.port)])
            try await close("carol", causes: [Self.transition("leave", "carol", on: b.port)])
            // A marker after the last leave: nothing else was published in between (no leave for the first alice
            // stream, no join for the second, none for public streams).
            let client = RedisClient(configuration: redis.configuration)
            defer { Task { await client.close() } }
            _ = try await client.send("PUBLISH", "sse:{room.presence}", #"{"event":"marker","data":"end"}"#)
            expected.append(SSETestClient.Event(event: "marker", data: "end"))
            try await follower.waitForEvents(expected.count, timeout: .seconds(5))
            #expect(follower.events == expected)

            try await waitUntil("room down to two streams", timeout: .seconds(5), every: .milliseconds(50)) {
                let answer = try await Self.presence(port: b.port, topic: "room")
                room.withLock { $0 = answer }
                return answer?.streams == 2
            }
            #expect(room.withLock { $0 }?.subjects == ["alice", "bob"])
            #expect(room.withLock { $0 }?.nodes == 2)
        }
    }
}
