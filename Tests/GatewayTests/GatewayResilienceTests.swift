import Foundation
import Gateway
import LocalRedis
import RedisClient
import SSEHistory
import SSEProtocol
import SSETestSupport
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Gateway replay, failures and drain (real redis-server and sse-gateway processes)")
struct GatewayResilienceTests {
    /// 5,000 events on 3 topics while 50 clients, each on its own subset of topics, drop and reconnect with their
    /// last id at random points, alternating between two nodes: each ends with exactly its topics' sequence.
    @Test func replayIsExactWhileClientsReconnectAtRandom() async throws {
        try await withLocalRedis { redis in
            let nodes = [try await GatewayProcess.start(redis: redis), try await GatewayProcess.start(redis: redis)]
            let publisher = try await TestPublisher.connect(redis)
            defer { publisher.close() }
            let topics = ["r0", "r1", "r2"]
            var generator = SystemRandomNumberGenerator()
            let subsets: [[String]] = (0..<50).map { index in
                let chosen = topics.enumerated().filter { (index >> $0.offset) & 1 == 1 }.map(\.element)
                return chosen.isEmpty ? [topics[index % 3]] : chosen
            }
            // Everyone connected and subscribed before the first publish, so "everything" is well defined.
            var first: [SSETestClient] = []
            for (index, subset) in subsets.enumerated() {
                let query = subset.map { "topic=\($0)" }.joined(separator: "&")
                first.append(try await SSETestClient.open(port: nodes[index % 2].port, path: "/sse?\(query)"))
            }
            for client in first { try await client.waitUntilConnected() }
            try await publisher.waitForSubscribers(topics, count: 2)

            let published = Locked<[Published]>([])
            let publishing = Task {
                for batch in 0..<100 {
                    let items = (0..<50).map { (topic: topics[Int.random(in: 0..<3)], data: "b\(batch)-\($0)") }
                    let ids = try await publisher.publishBatch(items)
                    published.withLock { list in
                        for (id, item) in zip(ids, items) {
                            list.append(Published(id: id, topic: item.topic, data: item.data))
                        }
                    }
                    try await Task.sleep(for: .milliseconds(5))
                }
            }

            let results = try await withThrowingTaskGroup(of: (Int, [SSETestClient.Event], Int).self) { group in
                for (index, subset) in subsets.enumerated() {
                    let opening = first[index]
                    let threshold = Int.random(in: 40...600, using: &generator)
                    group.addTask {
                        var received: [SSETestClient.Event] = []
                        var client = opening
                        var nodeIndex = index % 2
                        var reconnects = 0
                        let query = subset.map { "topic=\($0)" }.joined(separator: "&")
                        let deadline = ContinuousClock.now + .seconds(90)
                        while ContinuousClock.now < deadline {
                            // Both under one lock: read apart, the last batch could land between them, and a
                            // client would stop one batch short ("done", and all it expected before the batch).
                            let (expected, done) = published.withLock { list in
                                (list.filter { subset.contains($0.topic) }.count, list.count == 5000)
                            }
                            let have = received.count + client.events.count
                            if done && have >= expected { break }
                            if client.events.count >= threshold || client.isClosed {
                                received += client.events
                                client.close()
                                nodeIndex = 1 - nodeIndex
                                reconnects += 1
                                var headers: [(String, String)] = []
                                if let last = received.last(where: { $0.id != nil })?.id {
                                    headers = [("Last-Event-ID", last)]
                                }
                                client = try await SSETestClient.open(
                                    port: nodes[nodeIndex].port, path: "/sse?\(query)", headers: headers)
                            } else {
                                try await Task.sleep(for: .milliseconds(5))
                            }
                        }
                        received += client.events
                        client.close()
                        return (index, received, reconnects)
                    }
                }
                var all: [(Int, [SSETestClient.Event], Int)] = []
                for try await result in group { all.append(result) }
                return all
            }
            try await publishing.value
            let log = published.value
            #expect(log.count == 5000)
            var totalReconnects = 0
            for (index, received, reconnects) in results {
                totalReconnects += reconnects
                let expected = log.filter { subsets[index].contains($0.topic) }.map {
                    SSETestClient.Event(id: $0.id, event: nil, data: $0.data)
                }
                #expect(received.count == expected.count, "client \(index) on \(subsets[index])")
                #expect(received == expected, "client \(index) on \(subsets[index])")
            }
            #expect(totalReconnects >= 50)
            let replayed = try await nodes.asyncMap { try await $0.metrics().replayedEvents }
            #expect(replayed.reduce(0, +) > 0)
        }
    }

    /// Redis (with an fsync'd append-only file) is killed and restarted mid-stream: the node reconnects,
    /// backfills, and every acknowledged event reaches every client once, in order.
    @Test func redisRestartMidStreamLosesNoReliableEvent() async throws {
        try await withLocalRedis(.init(persistence: true)) { redis in
            let node = try await GatewayProcess.start(redis: redis)
            let clients = try await (0..<5).asyncMap { _ in
                try await SSETestClient.open(port: node.port, path: "/sse?topic=durable")
            }
            let setup = try await TestPublisher.connect(redis)
            for client in clients { try await client.waitUntilConnected() }
            try await setup.waitForSubscribers(["durable"])
            setup.close()

            let client = RedisClient(configuration: redis.configuration)
            let history = SSEHistoryPublisher(client: client)
            var acknowledged: [String] = []
            for index in 0..<300 {
                if index == 150 {
                    redis.kill()
                    try await Task.sleep(for: .milliseconds(300))
                    try await redis.restart()
                }
                // Retry until acknowledged: a publish whose reply was lost may land twice (ids stay distinct).
                while true {
                    if let id = try? await history.publish("durable", "event-\(index)") {
                        acknowledged.append(id)
                        break
                    }
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            await client.close()
            for (number, sse) in clients.enumerated() {
                try await waitUntil("client \(number) has every acknowledged id") {
                    let ids = Set(sse.events.compactMap(\.id))
                    return acknowledged.allSatisfy { ids.contains($0) }
                }
                let ids = sse.events.compactMap(\.id)
                #expect(ids == ids.sorted { isOrdered($0, $1) }, "client \(number): ids in order")
                #expect(Set(ids).count == ids.count, "client \(number): no duplicate")
                #expect(!sse.isClosed)
            }
            let metrics = try await node.metrics()
            let redisFigures = metrics.redis
            #expect(redisFigures.reconnects == 1)
            #expect(redisFigures.connected == true)
            for sse in clients { sse.close() }
        }
    }

    /// A flood the node cannot relay in time (the node is frozen while it lands) passes Redis's pub/sub output
    /// limit, so Redis drops the node's subscription; the node reconnects, backfills, and keeps serving.
    @Test func subscriptionDroppedByRedisIsRestoredAndBackfilled() async throws {
        let limit = ["--client-output-buffer-limit", "pubsub 128kb 64kb 1"]
        try await withLocalRedis(.init(extraArguments: limit)) { redis in
            // The node's history length matches what the publisher retains, so the whole flood can be backfilled;
            // the byte limit is raised so the 24 MiB catch-up burst is not mistaken for a slow consumer when the
            // test process is busy.
            let node = try await GatewayProcess.start(
                redis: redis, arguments: ["--history-length", "5000", "--max-unsent-bytes", "67108864"])
            let publisher = try await TestPublisher.connect(redis)
            defer { publisher.close() }
            let early = try await SSETestClient.open(port: node.port, path: "/sse?topic=flood")
            try await early.waitUntilConnected()

            node.signal(SIGSTOP)
            // 24 MiB: more than the kernel's socket buffers on both sides can absorb, so Redis's own output buffer
            // for the node passes the limit.
            let payload = String(repeating: "x", count: 8192)
            var ids: [String] = []
            for batch in 0..<30 {
                ids += try await publisher.publishBatch(
                    (0..<100).map { (topic: "flood", data: "\(batch)-\($0)-\(payload)") })
            }
            // Redis has given up on the frozen node's subscription (no subscriber left on the channel).
            try await publisher.waitForSubscribers(["flood"], count: 0)
            node.signal(SIGCONT)

            try await early.waitForEvents(3000, timeout: .seconds(60))
            #expect(early.events.map(\.id) == ids)
            let late = try await SSETestClient.open(port: node.port, path: "/sse?topic=flood")
            try await waitUntil("late stream open") { late.status == 200 }
            let next = try await publisher.publish("flood", "after the flood")
            try await late.waitForEvents(1)
            #expect(late.events == [.init(id: next, event: nil, data: "after the flood")])
            let metrics = try await node.metrics()
            #expect(metrics.slowConsumerDisconnects == 0)
            let redisFigures = metrics.redis
            #expect(redisFigures.reconnects >= 1)
            #expect(redisFigures.backfilledEvents > 0)
            early.close()
            late.close()
        }
    }

    /// One client stops reading: it is cut at the byte limit while 100 others receive every event.
    @Test func slowClientIsCutWhileOthersReceiveEverything() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(redis: redis, arguments: ["--max-unsent-bytes", "65536"])
            let publisher = try await TestPublisher.connect(redis)
            defer { publisher.close() }
            // The slow client also follows "heavy", which carries 8 MiB: more than the 64 KiB limit plus all the
            // kernel will buffer for a client that reads nothing. The 100 readers follow "wide" only.
            let slow = try await SSETestClient.open(
                port: node.port, path: "/sse?topic=wide&topic=heavy", reading: false)
            let readers = try await (0..<100).asyncMap { _ in
                try await SSETestClient.open(port: node.port, path: "/sse?topic=wide")
            }
            for reader in readers { try await reader.waitUntilConnected() }
            try await publisher.waitForSubscribers(["wide", "heavy"])
            let small = String(repeating: "p", count: 1024)
            let big = String(repeating: "h", count: 100 * 1024)
            var ids: [String] = []
            for batch in 0..<8 {
                ids += try await publisher.publishBatch(
                    (0..<50).map { (topic: "wide", data: "\(batch)-\($0)-\(small)") })
                _ = try await publisher.publishBatch((0..<10).map { (topic: "heavy", data: "\(batch)-\($0)-\(big)") })
            }
            try await waitUntil("the slow consumer is counted", timeout: .seconds(30)) {
                (try await node.metrics().slowConsumerDisconnects) == 1
            }
            for reader in readers {
                try await reader.waitForEvents(400, timeout: .seconds(60))
                #expect(reader.events.map(\.id) == ids)
            }
            let metrics = try await node.metrics()
            #expect(metrics.activeConnections == 100)
            #expect(metrics.streamErrors == 1)
            slow.close()
            for reader in readers { reader.close() }
        }
    }

    /// SIGTERM: not ready at once, new streams refused with Retry-After, open streams told to reconnect and
    /// closed spread over the window, exit 0 within the window plus 5 s.
    @Test func sigtermDrainsStreamsAcrossTheWindow() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(
                redis: redis, arguments: ["--drain-seconds", "2", "--retry-ms", "1000"])
            let publisher = try await TestPublisher.connect(redis)
            defer { publisher.close() }
            let clients = try await (0..<12).asyncMap { _ in
                try await SSETestClient.open(port: node.port, path: "/sse?topic=calm")
            }
            for client in clients { try await client.waitUntilConnected() }
            let closedAt = Locked<[Int: ContinuousClock.Instant]>([:])
            let started = ContinuousClock.now
            node.signal(SIGTERM)

            // The signal is handled on the node's own time: a probe sent at once can come first (seen in a run of
            // the unit phase), so "at once" is within a second.
            var ready = try await HTTPProbe.get(port: node.port, path: "/readyz")
            try await waitUntil("the node not ready", timeout: .seconds(1), every: .milliseconds(10)) {
                if ready.status == 503 { return true }
                ready = try await HTTPProbe.get(port: node.port, path: "/readyz")
                return ready.status == 503
            }
            #expect(ready.body == "not ready: draining\n")
            let refused = try await HTTPProbe.get(port: node.port, path: "/sse?topic=calm")
            #expect(refused.status == 503)
            #expect(refused.header("Retry-After") == "2")

            try await waitUntil("every stream closed", timeout: .seconds(6)) {
                for (index, client) in clients.enumerated() where client.isClosed {
                    closedAt.withLock { if $0[index] == nil { $0[index] = .now } }
                }
                return clients.allSatisfy(\.isClosed)
            }
            let status = await node.exit(within: .seconds(8))
            #expect(status == 0)
            #expect(ContinuousClock.now - started < .seconds(7))
            let times = closedAt.withLock { $0.values.map { $0 - started } }.sorted()
            #expect(times.count == 12)
            #expect(times.last! - times.first! > .milliseconds(800), "closes spread over the window: \(times)")
            #expect(times.last! < .milliseconds(3500), "all closed within the 2 s window (plus scheduling slack)")
            for client in clients {
                // The opening retry plus the drain's jittered retry (1,000–2,000 ms).
                #expect(client.retries.count == 2)
                #expect((1000...2000).contains(client.retries.last ?? 0))
            }
        }
    }
}

struct Published: Sendable {
    var id: String
    var topic: String
    var data: String
}

/// Compares `ms-seq` ids numerically.
func isOrdered(_ left: String, _ right: String) -> Bool {
    let a = left.split(separator: "-").compactMap { UInt64($0) }
    let b = right.split(separator: "-").compactMap { UInt64($0) }
    return (a[0], a[1]) < (b[0], b[1])
}

/// Reliable publishing through a reconnecting client (survives a Redis restart between calls).
struct SSEHistoryPublisher {
    let client: RedisClient

    func publish(_ topic: String, _ data: String) async throws -> String {
        let id = try await SSEHistory.History(runner: client).publish(
            try SSEProtocol.Topic(validating: topic), event: nil, data: data, maxLength: 10_000)
        return "\(id)"
    }
}
