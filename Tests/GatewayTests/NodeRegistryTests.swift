import Foundation
import Gateway
import LocalRedis
import RedisClient
import SSEProtocol
import SSETestSupport
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 16, point 1: every node registers in Redis with a beat that expires, publishes its figures on the cluster
/// topic `sse.nodes` once a second, and drops out of `/sse-nodes` within three seconds of dying (at once when it
/// exits cleanly).
@Suite("Node registry (real redis-server and sse-gateway)", .serialized)
struct NodeRegistryTests {
    /// `GET /sse-nodes` decoded; nil for any answer but 200.
    static func nodes(port: Int) async throws -> [NodeDocument]? {
        let answer = try await HTTPProbe.get(port: port, path: "/sse-nodes")
        guard answer.status == 200 else { return nil }
        return try JSONDecoder().decode(NodeList.self, from: Data(answer.body.utf8)).nodes
    }

    static func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

    @Test func twoNodesRegisterAndBothAppearInSseNodesWithExactFields() async throws {
        try await withLocalRedis { redis in
            let first = try await GatewayProcess.start(redis: redis)
            let second = try await GatewayProcess.start(redis: redis)
            let stream = try await SSETestClient.open(port: first.port, path: "/sse?topic=room")
            defer { stream.close() }
            try await stream.waitUntilConnected()
            let seen = Mutex<[NodeDocument]>([])
            // A node's first beat may precede its first link (state `not-ready`): wait for both to be ready.
            try await waitUntil("both nodes listed ready, the first with its stream", timeout: .seconds(5)) {
                let nodes = try await Self.nodes(port: second.port) ?? []
                seen.withLock { $0 = nodes }
                return nodes.count == 2 && nodes.allSatisfy { $0.state == .ready }
                    && nodes.first { $0.nodeID == "test-\(first.port)" }?.streams == 1
            }
            let nodes = seen.withLock { $0 }
            #expect(nodes.map(\.nodeID) == ["test-\(first.port)", "test-\(second.port)"].sorted())
            for node in [first, second] {
                let document = try #require(nodes.first { $0.nodeID == "test-\(node.port)" })
                let streams = node.port == first.port ? 1 : 0
                #expect(document.formatVersion == 1)
                #expect(document.version == NodeDocument.gatewayVersion)
                #expect(document.state == .ready)
                #expect(document.reason == nil)
                #expect(document.address == "127.0.0.1:\(node.port)")
                #expect(document.streams == streams)
                #expect(document.connectionsTotal == streams)
                #expect(document.ttlMilliseconds == 3000)
                #expect(document.redisLinksUp == 1)
                #expect(document.redisLinksTotal == 1)
                #expect(document.slowConsumerCuts == 0)
                #expect(document.shedDeliveries == 0)
                #expect(document.shedConnections == 0)
                #expect(document.resyncs == 0)
                #expect(document.beat >= 1)
                #expect(document.startedMilliseconds <= document.atMilliseconds)
                #expect(abs(document.atMilliseconds - Self.now()) < 2000)
                // `/sse-nodes` shows the summary: topic names and subjects stay in the registry key.
                #expect(document.presence == NodeDocument.Presence(topicsTotal: streams, topics: nil))
            }
            // The keys: one per node with a TTL of at most 3 s, and both ids in the members set.
            let client = RedisClient(configuration: redis.configuration)
            defer { Task { await client.close() } }
            for node in [first, second] {
                let ttl = try await client.send("PTTL", "sse:{sse.nodes}:node:test-\(node.port)").int ?? -9
                #expect(ttl > 0 && ttl <= 3000)
            }
            let members = try await client.send("ZRANGE", "sse:{sse.nodes}:members", "0", "-1")
            #expect(
                (members.array ?? []).compactMap(\.string).sorted()
                    == ["test-\(first.port)", "test-\(second.port)"].sorted())
            // The full document in the key lists the topic.
            let stored = try await client.send("GET", "sse:{sse.nodes}:node:test-\(first.port)")
            let full = try #require(stored.bytes.flatMap(NodeDocument.decode))
            #expect(
                full.presence.topics == [
                    NodeDocument.TopicPresence(topic: "room", streams: 1, subjects: [], subjectsTotal: 0)
                ])
        }
    }

    @Test func aKilledNodeLeavesSseNodesWhenItsLastBeatExpiresWithinThreeSeconds() async throws {
        try await withLocalRedis { redis in
            let survivor = try await GatewayProcess.start(redis: redis)
            let victim = try await GatewayProcess.start(redis: redis)
            let id = "test-\(victim.port)"
            try await waitUntil("both nodes listed", timeout: .seconds(5)) {
                (try await Self.nodes(port: survivor.port) ?? []).count == 2
            }
            let client = RedisClient(configuration: redis.configuration)
            defer { Task { await client.close() } }
            victim.signal(SIGKILL)
            let killed = Self.now()
            _ = await victim.exit(within: .seconds(5))
            // The victim's last beat as stored: its key expires 3 s after that beat was written.
            let stored = try await client.send("GET", "sse:{sse.nodes}:node:\(id)")
            let lastBeat = try #require(stored.bytes.flatMap(NodeDocument.decode))
            var lastPresent = Int64(0)
            var goneAt: Int64?
            while goneAt == nil, Self.now() - killed < 5000 {
                let nodes = try await Self.nodes(port: survivor.port) ?? []
                if nodes.contains(where: { $0.nodeID == id }) { lastPresent = Self.now() } else { goneAt = Self.now() }
                try await Task.sleep(for: .milliseconds(50))
            }
            let gone = try #require(goneAt, "the killed node still listed 5 s after the kill")
            // Gone before 3.5 s after the kill (its last beat was at most a second before it, and the key lives 3 s
            // after that beat; 0.5 s for polling and a loaded machine).
            #expect(gone - killed < 3500)
            // Still listed until just before its key expired: not dropped early (200 ms for the 50 ms polls, the
            // time between building the document and writing it, and the request itself).
            #expect(lastPresent >= lastBeat.atMilliseconds + 3000 - 250)
            #expect(gone >= lastBeat.atMilliseconds + 3000 - 50)
            #expect((try await Self.nodes(port: survivor.port) ?? []).map(\.nodeID) == ["test-\(survivor.port)"])
        }
    }

    @Test func aNodeOnSigtermSaysDrainingThenLeavesTheRegistryAsItExits() async throws {
        try await withLocalRedis { redis in
            let survivor = try await GatewayProcess.start(redis: redis)
            let leaving = try await GatewayProcess.start(redis: redis, arguments: ["--drain-seconds", "2"])
            let id = "test-\(leaving.port)"
            let follower = try await SSETestClient.open(port: survivor.port, path: "/sse?topic=sse.nodes")
            defer { follower.close() }
            try await follower.waitUntilConnected()
            // A stream keeps the drain going for a while (it is told to reconnect somewhere in the 2 s window).
            let held = try await SSETestClient.open(port: leaving.port, path: "/sse?topic=room")
            defer { held.close() }
            try await held.waitUntilConnected()
            try await waitUntil("both nodes listed", timeout: .seconds(5)) {
                (try await Self.nodes(port: survivor.port) ?? []).count == 2
            }
            leaving.signal(SIGTERM)
            let seen = Mutex<NodeDocument?>(nil)
            try await waitUntil("the node listed as draining", timeout: .seconds(2), every: .milliseconds(20)) {
                let document = (try await Self.nodes(port: survivor.port) ?? []).first { $0.nodeID == id }
                seen.withLock { $0 = document }
                return document?.state == .draining
            }
            #expect(seen.withLock { $0 }?.reason == "draining")
            let status = await leaving.exit(within: .seconds(10))
            #expect(status == 0)
            // Its key was deleted on the way out: gone at once, not 3 s later.
            #expect((try await Self.nodes(port: survivor.port) ?? []).map(\.nodeID) == ["test-\(survivor.port)"])
            // Followers of `sse.nodes` got its last word.
            try await waitUntil("the stopped event", timeout: .seconds(2)) {
                follower.events.contains {
                    $0.event == "node" && NodeDocument.decode(Array($0.data.utf8))?.state == .stopped
                }
            }
            let states = follower.events.compactMap { NodeDocument.decode(Array($0.data.utf8)) }.filter {
                $0.nodeID == id
            }.map(\.state)
            // ready …, draining …, stopped: in that order, and nothing after stopped.
            let firstDraining = try #require(states.firstIndex(of: .draining))
            #expect(states[..<firstDraining].allSatisfy { $0 == .ready })
            #expect(states.last == .stopped)
            #expect(states[firstDraining..<(states.count - 1)].allSatisfy { $0 == .draining })
        }
    }

    @Test func theNodesTopicDeliversOneNodeEventPerNodePerSecondWithoutAGap() async throws {
        try await withLocalRedis { redis in
            let first = try await GatewayProcess.start(redis: redis)
            let second = try await GatewayProcess.start(redis: redis)
            let follower = try await SSETestClient.open(port: first.port, path: "/sse?topic=sse.nodes")
            defer { follower.close() }
            try await follower.waitUntilConnected()
            let started = ContinuousClock.now
            try await waitUntil("five beats of each node", timeout: .seconds(10)) {
                let documents = follower.events.compactMap { NodeDocument.decode(Array($0.data.utf8)) }
                return Set(["test-\(first.port)", "test-\(second.port)"]).allSatisfy { id in
                    documents.filter { $0.nodeID == id }.count >= 5
                }
            }
            let elapsed = ContinuousClock.now - started
            let events = follower.events
            #expect(events.allSatisfy { $0.event == "node" && $0.id == nil })
            let documents = events.compactMap { NodeDocument.decode(Array($0.data.utf8)) }
            #expect(documents.count == events.count)
            for id in ["test-\(first.port)", "test-\(second.port)"] {
                let beats = documents.filter { $0.nodeID == id }.map(\.beat)
                // One event per beat, each beat one more than the last: no beat missed, none twice.
                #expect(beats == Array(beats[0]..<(beats[0] + beats.count)), "\(id): \(beats)")
                #expect(documents.filter { $0.nodeID == id }.allSatisfy { $0.presence.topics == nil })
            }
            // Five beats a second apart take four seconds and a bit; well under seven even on a loaded machine.
            #expect(elapsed >= .seconds(3.9) && elapsed < .seconds(7), "\(elapsed)")
        }
    }

    @Test func sseNodesAnswers503WhileRedisIsDown() async throws {
        let redis = try await LocalRedisServer.start()
        let node = try await GatewayProcess.start(redis: redis)
        try await waitUntil("the node listed", timeout: .seconds(5)) {
            (try await Self.nodes(port: node.port) ?? []).count == 1
        }
        redis.stop()
        let answer = try await HTTPProbe.get(port: node.port, path: "/sse-nodes")
        #expect(answer.status == 503)
        #expect(answer.header("Retry-After") == "1")
        #expect(answer.body.hasPrefix("node registry unavailable: "))
        #expect(answer.body.split(separator: "\n").count == 1)
        // The beat failure is logged once, not every second.
        try await Task.sleep(for: .seconds(2.5))
        #expect(node.log.components(separatedBy: "cannot write the node registry beat").count - 1 == 1)
    }
}
