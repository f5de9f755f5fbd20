import Foundation
import LocalRedis
import NIOCore
import RedisClient
import SSEHistory
import SSEProtocol
import SSETestSupport
import Synchronization
import Testing

extension EndToEnd {
    /// Two gateway nodes and the publisher on a real Sentinel group (a master, a replica, three sentinels) behind
    /// nginx; `SENTINEL FAILOVER` while 1,000 reliable events go out through `POST /publish`.
    @Suite("Two nodes and the publisher on a Sentinel group: a failover mid-stream")
    struct SentinelEndToEndTests {
        static let clientCount = 300
        static let eventCount = 1000
        static let topics = ["sa", "sb"]
        static let token = "sentinel-test-token"

        /// Every client of a two-topic stream ends with every event the new master kept, once each and in order per
        /// topic; events the publisher had acknowledged and Redis lost in the failover are counted and must be
        /// answered with `resync`.
        @Test func threeHundredClientsReceiveEveryKeptEventOnceInOrderAcrossASentinelFailover() async throws {
            let start = ContinuousClock.now
            let group = try await LocalSentinelGroup.start()
            let cluster = try await TestCluster.start(
                sentinels: group, nodeCount: 2, gatewayArguments: ["--retry-ms", "200"], withPublisher: true,
                publisherArguments: ["--publish-token", Self.token])
            defer { cluster.stop() }
            let publisher = try #require(cluster.publisher)
            let rendered = try await Self.publish(publisher, topic: Self.topics[0], data: "page rendered", key: "m")
            let path = "/sse?" + Self.topics.map { "topic=\($0)" }.joined(separator: "&") + "&lastEventId=\(rendered)"
            let clients = try await cluster.openClients(Self.clientCount, path: path, retry: .milliseconds(200))
            defer { clients.forEach { $0.close() } }

            let old = group.servers[0]
            let progress = PublishProgress()
            let failover = Task {
                try await waitUntil("half the events published", timeout: .seconds(60)) {
                    progress.count.load(ordering: .relaxed) >= Self.eventCount / 2
                }
                try await group.failover()
                return try await group.waitForNewMaster(replacing: old.port)
            }
            // One lane per topic, so each topic's events are published (and acknowledged) in order.
            let acknowledged = try await withThrowingTaskGroup(of: (String, [String]).self) { lanes in
                for topic in Self.topics {
                    lanes.addTask {
                        var ids: [String] = []
                        for index in 0..<(Self.eventCount / Self.topics.count) {
                            ids.append(
                                try await Self.publish(
                                    publisher, topic: topic, data: "\(topic)-\(index)", key: "\(topic)-\(index)"))
                            progress.count.add(1, ordering: .relaxed)
                        }
                        return (topic, ids)
                    }
                }
                var all: [String: [String]] = [:]
                for try await (topic, ids) in lanes { all[topic] = ids }
                return all
            }
            let new = try await failover.value
            #expect(try await LocalSentinelGroup.role(of: new) == "master")

            // What the new master kept, per topic, in id order (the publisher's loss markers included), once the
            // publisher's check has marked every topic that lost events.
            let reader = RedisClient(connector: RedisConnector(topology: group.topology))
            let history = History(runner: reader)
            var kept: [String: [SSETestClient.Event]] = [:]
            var lostByTopic: [String: Set<String>] = [:]
            func readKept() async throws -> Bool {
                for topic in Self.topics {
                    let result = try await history.events(
                        after: try EventID(parsing: rendered), in: [try Topic(validating: topic)], limit: 5000)
                    guard case .events(let events) = result else {
                        Issue.record("history of \(topic) after \(rendered): \(result)")
                        return true
                    }
                    kept[topic] = events.map {
                        SSETestClient.Event(
                            id: $0.event.id?.description, event: $0.event.event, data: String(buffer: $0.event.data))
                    }
                    lostByTopic[topic] = Set(acknowledged[topic] ?? []).subtracting(
                        (kept[topic] ?? []).compactMap(\.id))
                }
                return Self.topics.allSatisfy { topic in
                    lostByTopic[topic]?.isEmpty ?? true || kept[topic]?.contains { $0.event == "resync" } == true
                }
            }
            do {
                try await waitUntil("every topic that lost events is marked", timeout: .seconds(15)) {
                    try await readKept()
                }
            } catch {
                Issue.record("\(error): lost \(lostByTopic.mapValues(\.count))")
            }
            await reader.close()
            let lost = lostByTopic.values.flatMap { $0 }
            let markers = kept.values.map { $0.filter { $0.event == "resync" }.count }.reduce(0, +)
            let last = Self.topics.compactMap { kept[$0]?.last?.id }.max {
                try! EventID(parsing: $0) < EventID(parsing: $1)
            }
            try await waitUntil("every client has the last kept event", timeout: .seconds(30)) {
                clients.allSatisfy { client in client.events.contains { $0.id == last } }
            }

            var problems: [String] = []
            var withoutResync = 0
            for (index, client) in clients.enumerated() {
                let received = client.events
                let ids = received.compactMap(\.id)
                if Set(ids).count != ids.count { problems.append("client \(index): duplicate ids") }
                for topic in Self.topics {
                    let keptIDs = Set((kept[topic] ?? []).compactMap(\.id))
                    let mine = received.filter { $0.id.map(keptIDs.contains) ?? false }
                    if mine != kept[topic] {
                        problems.append("client \(index) \(topic): \(mine.count) of \(kept[topic]?.count ?? 0) kept")
                    }
                }
                let told = received.contains { $0.event == "resync" && $0.data.contains("redis-data-lost") }
                if !lost.isEmpty, !told { withoutResync += 1 }
            }
            #expect(problems.isEmpty, "\(problems.count) problems: \(problems.prefix(5))")
            // Writes the old master took after the sentinels promoted the replica (until +switch-master closed the
            // publisher's connection) are lost: the nodes relayed them, find their last relayed id missing from the
            // new master, and tell every stream of those topics with `resync`.
            if !lost.isEmpty {
                #expect(withoutResync == 0, "\(withoutResync) clients got no resync for \(lost.count) lost events")
            }
            // The publisher's check marked each topic that lost events: once per lost id it checked (its newest per
            // connection that went away), so at least once per such topic and at most once per lost event.
            let lostTopics = lostByTopic.values.filter { !$0.isEmpty }.count
            #expect(markers >= lostTopics && markers <= lost.count, "\(markers) markers, \(lostTopics) topics")
            #expect(kept.values.map(\.count).reduce(0, +) - markers + lost.count == Self.eventCount)
            #expect(try await Self.subscribedNodes(on: new) == 2)
            let took = ContinuousClock.now - start
            print(
                "Sentinel end-to-end: \(lost.count) acknowledged events lost in the failover, \(markers) loss markers, "
                    + "took \(took)")
        }

        /// `POST /publish` with an idempotency key, sent again on 503 or a broken connection (at most 30 s) — a
        /// repeat publishes nothing and answers the first id.
        static func publish(_ publisher: PublisherProcess, topic: String, data: String, key: String) async throws
            -> String
        {
            let deadline = ContinuousClock.now + .seconds(30)
            while true {
                let answer = try? await publisher.send(
                    "POST", "/publish",
                    headers: [
                        ("Authorization", "Bearer \(token)"), ("Content-Type", "application/json"),
                        ("Idempotency-Key", key),
                    ], body: "{\"topic\":\"\(topic)\",\"data\":\"\(data)\"}")
                if let answer, answer.status == 202,
                    let object = try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any],
                    let id = object["id"] as? String
                {
                    return id
                }
                if let answer, answer.status != 503 {
                    throw ClusterTestError(message: "POST /publish answered \(answer.status): \(answer.body)")
                }
                guard ContinuousClock.now < deadline else {
                    throw ClusterTestError(message: "POST /publish of \(key) kept failing for 30 s")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        }

        /// Connections subscribed to the first topic's channel on `server` (one per gateway node).
        static func subscribedNodes(on server: LocalRedisServer) async throws -> Int64? {
            let connection = try await RedisConnection.connect(configuration: server.configuration)
            defer { connection.closeNow() }
            let channel = try Topic(validating: topics[0]).channel
            return try await connection.send("PUBSUB", "NUMSUB", channel).array?.last?.int
        }
    }
}

/// How many events the lanes have published so far (read by the task that starts the failover).
final class PublishProgress: Sendable {
    let count = Atomic<Int>(0)
}
