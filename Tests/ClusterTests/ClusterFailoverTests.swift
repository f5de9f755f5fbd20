import Foundation
import Gateway
import LocalRedis
import SSETestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension EndToEnd {
    /// The operator's promise, end to end: several nodes behind nginx, any of which can die without a client noticing
    /// more than a reconnect. Real redis-server, three real sse-gateway nodes, a real nginx configured by the files
    /// `deploy/local-cluster` uses; 300 EventSource-like clients, everything through nginx.
    @Suite("Three nodes behind nginx: spread, failover, drain and Redis restart")
    struct ClusterFailoverTests {
        static let clientCount = 300
        static let eventCount = 1000
        /// Short retry hints so reconnects happen within the test's time; the gateway adds up to 50 %.
        static let gatewayArguments = ["--retry-ms", "200"]

        /// 300 clients spread by least_conn so that every node holds some (the nodes' own figures agree with the
        /// clients' view of who serves them); 1,000 reliable events reach every client in order, once each.
        @Test func everyClientOfThreeNodesReceivesAThousandEventsInOrderOnce() async throws {
            let cluster = try await TestCluster.start(gatewayArguments: Self.gatewayArguments)
            defer { cluster.stop() }
            let clients = try await cluster.openClients(
                Self.clientCount, path: try await streamPath("board", from: cluster.redis))
            defer { clients.forEach { $0.close() } }

            let active = try await cluster.activeConnections()
            let served = Dictionary(grouping: clients) { $0.currentNode ?? "none" }.mapValues(\.count)
            #expect(active.reduce(0, +) == Self.clientCount)
            for (index, node) in cluster.nodeIDs.enumerated() {
                #expect(served[node] == active[index], "node \(index + 1): clients' view and its own figures agree")
                // least_conn over clients arriving one by one: about a third each, never a node left out.
                #expect(active[index] >= Self.clientCount / 5, "node \(index + 1) holds \(active[index]) of \(active)")
            }

            let expected = try await publishStream("board", count: Self.eventCount, redis: cluster.redis)
            try await waitForCompletion(of: clients, expected: expected)
            let problems = sequenceProblems(clients, expected: expected)
            #expect(problems.isEmpty, "\(problems.count) clients differ: \(problems.prefix(5))")
            #expect(clients.filter { $0.connections.count == 1 }.count == Self.clientCount, "nobody had to reconnect")
            let sent = try await (1...3).asyncMap { try await cluster.metrics(ofNode: $0).totalEventsSent }
            #expect(sent.reduce(0, +) == Self.clientCount * Self.eventCount)
        }

        /// `kill -9` of one node mid-stream: its clients reconnect through nginx with Last-Event-ID, land on the other
        /// nodes (nginx skips the dead one before answering), and end with the complete sequence, once each.
        @Test func clientsOfAKilledNodeResumeOnTheOthersWithoutLossOrDuplicate() async throws {
            let cluster = try await TestCluster.start(gatewayArguments: Self.gatewayArguments)
            defer { cluster.stop() }
            let clients = try await cluster.openClients(
                Self.clientCount, path: try await streamPath("crash", from: cluster.redis))
            defer { clients.forEach { $0.close() } }
            let doomed = cluster.nodeIDs[1]
            let victims = clients.filter { $0.currentNode == doomed }
            let others = clients.filter { $0.currentNode != doomed }
            #expect(victims.count == (try await cluster.activeConnections())[1])
            #expect(!victims.isEmpty)

            let expected = try await publishStream("crash", count: Self.eventCount, redis: cluster.redis) { batch in
                if batch == 6 { cluster.nodes[1].kill() }
            }
            try await waitForCompletion(of: clients, expected: expected)

            let problems = sequenceProblems(clients, expected: expected)
            #expect(problems.isEmpty, "\(problems.count) clients differ: \(problems.prefix(5))")
            let moves = victims.map(\.connections)
            #expect(moves.filter { $0.count < 2 }.isEmpty, "every client of the killed node reconnected")
            let refused = moves.filter { !$0.allSatisfy { $0.status == 200 } }
            #expect(
                refused.isEmpty,
                "\(refused.count) clients got an error answer, e.g. \(refused.first.map(describe) ?? "")")
            // As EventSource does: a reconnect carries Last-Event-ID once any event has arrived (before that, the
            // URL's lastEventId says where to resume).
            let wrongID = moves.filter { connections in
                connections.indices.dropFirst().contains { index in
                    let received = connections[..<index].map(\.eventCount).reduce(0, +)
                    return (received > 0) != (connections[index].lastEventID != nil)
                }
            }
            #expect(
                wrongID.isEmpty,
                "Last-Event-ID sent when and only when an event had arrived: \(wrongID.first.map(describe) ?? "")")
            let stranded = moves.filter { $0.last?.node == doomed || $0.last?.node == nil }
            #expect(stranded.isEmpty, "\(stranded.count) clients not on a surviving node")
            #expect(others.allSatisfy { $0.connections.count == 1 }, "clients of the other nodes never noticed")
            let active = try await [1, 3].asyncMap {
                try await cluster.metrics(ofNode: $0).activeConnections
            }
            #expect(active.compactMap { $0 }.reduce(0, +) == Self.clientCount)
        }

        /// SIGTERM to one node: it closes its streams at moments spread over the drain window, each with a retry
        /// hint; the clients come back through nginx on the other nodes (a draining node's 503 makes nginx try the
        /// next one), nothing is lost or repeated, and the node exits with status 0.
        @Test func clientsOfADrainingNodeMoveToTheOthersSpreadOverTheWindow() async throws {
            let window = Duration.seconds(3)
            let cluster = try await TestCluster.start(
                gatewayArguments: Self.gatewayArguments + ["--drain-seconds", "3"])
            defer { cluster.stop() }
            let clients = try await cluster.openClients(
                Self.clientCount, path: try await streamPath("drain", from: cluster.redis))
            defer { clients.forEach { $0.close() } }
            let draining = cluster.nodeIDs[2]
            let victims = clients.filter { $0.currentNode == draining }
            let others = clients.filter { $0.currentNode != draining }
            #expect(!victims.isEmpty)

            // 1,000 events over about 4 s, so the stream runs through the whole window.
            let signalled = Locked<ContinuousClock.Instant?>(nil)
            let expected = try await publishStream(
                "drain", count: Self.eventCount, pause: .milliseconds(200), redis: cluster.redis
            ) { batch in
                if batch == 3 {
                    signalled.withLock { $0 = .now }
                    cluster.nodes[2].signal(SIGTERM)
                }
            }
            let start = try #require(signalled.value)
            try await waitUntil("the drained node exits", timeout: window + .seconds(6)) {
                cluster.nodes[2].reapIfExited() != nil
            }
            #expect(cluster.nodes[2].reapIfExited() == 0, "exit status")
            try await waitForCompletion(of: clients, expected: expected)

            let problems = sequenceProblems(clients, expected: expected)
            #expect(problems.isEmpty, "\(problems.count) clients differ: \(problems.prefix(5))")
            let moves = victims.map(\.connections)
            #expect(moves.filter { $0.count < 2 }.isEmpty, "every client of the draining node reconnected")
            let refused = moves.filter { !$0.allSatisfy { $0.status == 200 } }
            let example = refused.first.map(describe) ?? ""
            #expect(
                refused.isEmpty,
                "\(refused.count) clients saw an error (nginx retries a 503 elsewhere), e.g. \(example)")
            let stranded = moves.filter { $0.last?.node == draining || $0.last?.node == nil }
            #expect(stranded.isEmpty, "\(stranded.count) clients not on a remaining node")
            let closes = moves.compactMap { $0.first?.closedAt.map { $0 - start } }.sorted()
            #expect(closes.count == victims.count)
            if let first = closes.first, let last = closes.last {
                #expect(first >= .zero && last < window + .milliseconds(1500), "closes within the window: \(closes)")
                // Spread, not a stampede: some in each third of the window.
                for third in 0..<3 {
                    let low = window * third / 3
                    let high = window * (third + 1) / 3
                    #expect(closes.contains { $0 >= low && $0 < high }, "a close in \(low)..<\(high): \(closes)")
                }
            }
            #expect(others.allSatisfy { $0.connections.count == 1 }, "clients of the other nodes never noticed")
        }

        /// redis-server (append-only file, fsync always) is killed and restarted mid-stream: every node reconnects and
        /// backfills by itself, no stream is dropped, and every acknowledged event reaches every client once, in order.
        @Test func nodesRecoverFromARedisRestartWithoutLosingAReliableEvent() async throws {
            let cluster = try await TestCluster.start(
                redis: .init(persistence: true), gatewayArguments: Self.gatewayArguments)
            defer { cluster.stop() }
            let clients = try await cluster.openClients(
                Self.clientCount, path: try await streamPath("durable", from: cluster.redis))
            defer { clients.forEach { $0.close() } }

            let expected = try await publishStream("durable", count: Self.eventCount, redis: cluster.redis) { batch in
                if batch == 8 {
                    cluster.redis.kill()
                    try await cluster.redis.restart()
                }
            }
            try await waitForCompletion(of: clients, expected: expected)

            let problems = sequenceProblems(clients, expected: expected)
            #expect(problems.isEmpty, "\(problems.count) clients differ: \(problems.prefix(5))")
            #expect(clients.allSatisfy { $0.connections.count == 1 }, "no stream was dropped")
            for number in 1...3 {
                let metrics = try await cluster.metrics(ofNode: number)
                let redis = metrics.redis
                #expect(redis.connected == true, "node \(number) reconnected")
                #expect(redis.reconnects == 1, "node \(number): one reconnect")
                // Ready again once its link has passed a probe on the new connection: a probe that was out when
                // Redis died failed, and the next one goes out within the probe interval (a fresh-clone run read
                // `ready` false here, a moment too early).
                try await waitUntil("node \(number) ready again", timeout: .seconds(10)) {
                    try await cluster.metrics(ofNode: number).ready
                }
            }
        }
    }
}
