import Foundation
import Gateway
import LocalRedis
import SSETestSupport
import Testing

extension EndToEnd {
    /// Issue 14, revocation: one `ssectl revoke --subject` ends, on every node of a three-node cluster behind the
    /// project's nginx, every stream of that subject (an `event: revoked` and a finished body) within a second,
    /// leaves the other subject's streams running, and has every node refuse the revoked token afterwards; a token
    /// id and a topic are revoked on every node the same way.
    @Suite("Revocation across three nodes through nginx")
    struct RevocationAcrossNodesTests {
        /// The bound the test asserts from just before `ssectl revoke` starts to the last revoked body finishing.
        /// The issue asks for one second; measured 0.03–0.4 s on 2 cores with a load average of 6–7 (the slowest on
        /// the first run, ssectl starting cold).
        static let revocationBound: Duration = .seconds(1)

        /// Which node (0-based) serves `stream`, from its opening `: connected to <node id>` comment.
        static func node(of stream: SSETestClient, in cluster: TestCluster) throws -> Int {
            let comment = try #require(stream.comments.first { $0.hasPrefix("connected to ") })
            return try #require(cluster.nodeIDs.firstIndex(of: String(comment.dropFirst("connected to ".count))))
        }

        /// Opens private streams on `topic` with `token` through nginx until every node serves at least one (nginx
        /// balances least_conn, so that is normally three streams; at most nine are tried).
        static func streamsOnEveryNode(_ cluster: TestCluster, topic: String, token: String) async throws
            -> [(stream: SSETestClient, node: Int)]
        {
            var streams: [(stream: SSETestClient, node: Int)] = []
            while Set(streams.map(\.node)).count < cluster.nodes.count, streams.count < 3 * cluster.nodes.count {
                let stream = try await SSETestClient.open(
                    port: cluster.port, path: "/sse?topic=\(topic)", headers: TestTokenKey.bearer(token))
                try await stream.waitUntilConnected()
                #expect(stream.status == 200)
                streams.append((stream, try node(of: stream, in: cluster)))
            }
            try #require(
                Set(streams.map(\.node)).count == cluster.nodes.count,
                "\(topic): streams on nodes \(streams.map(\.node)) after \(streams.count) tries")
            return streams
        }

        /// Asks for `topic` with the revoked `token` through nginx until every node has refused it once more (at
        /// most 30 requests), each answer a 401 with the exact body and challenge; returns each node's count of
        /// refusals for a revoked token.
        static func refusedByEveryNode(_ cluster: TestCluster, topic: String, token: String) async throws -> [Int] {
            let counts = {
                try await (1...cluster.nodes.count).asyncMap {
                    try await cluster.metrics(ofNode: $0).auth.refusals["revoked"] ?? -1
                }
            }
            let before = try await counts()
            var now = before
            var probes = 0
            while zip(now, before).contains(where: { $0 <= $1 }), probes < 30 {
                let answer = try await HTTPProbe.get(
                    port: cluster.port, path: "/sse?topic=\(topic)", headers: TestTokenKey.bearer(token))
                probes += 1
                #expect(answer.status == 401)
                #expect(answer.body == "access token has been revoked\n")
                let challenge = #"Bearer realm="sse", error="invalid_token", error_description="#
                #expect(answer.header("WWW-Authenticate") == challenge + #""access token has been revoked""#)
                now = try await counts()
            }
            #expect(!zip(now, before).contains { $0 <= $1 }, "refusals per node \(before) → \(now) after \(probes)")
            #expect(now.reduce(0, +) - before.reduce(0, +) == probes)
            return now
        }

        @Test func aSubjectsStreamsEndOnEveryNodeWithinASecondAndItsTokenIsRefusedEverywhere() async throws {
            let key = try TestTokenKey()
            let cluster = try await TestCluster.start(nodeCount: 3, gatewayArguments: key.gatewayArguments)
            defer { cluster.stop() }
            let publisher = try await TestPublisher.connect(cluster.redis)
            defer { publisher.close() }
            // Issued a minute ago: the revocation covers the subject's tokens issued until its own second.
            let revokedToken = key.token(subscribe: ["user.42"], subject: "42", tokenID: "t-42", issuedAgo: 60)
            let otherToken = key.token(subscribe: ["user.43"], subject: "43", tokenID: "t-43", issuedAgo: 60)
            let revoked = try await Self.streamsOnEveryNode(cluster, topic: "user.42", token: revokedToken)
            let others = try await Self.streamsOnEveryNode(cluster, topic: "user.43", token: otherToken)
            defer { for (stream, _) in revoked + others { stream.close() } }
            let first42 = try await publisher.publish("user.42", "before 42")
            let first43 = try await publisher.publish("user.43", "before 43")
            for (stream, _) in revoked + others { try await stream.waitForEvents(1) }

            let start = ContinuousClock.now
            async let revocation = SSECtlProgram.run([
                "revoke", "--redis-url", cluster.redis.url, "--subject", "42", "--reason", "signed out",
            ])
            // Through nginx a finished stream ends with its last chunk and nginx keeps the client's connection.
            try await waitUntil("every subject-42 stream finished", timeout: .seconds(10), every: .milliseconds(1)) {
                revoked.allSatisfy { $0.stream.isBodyComplete }
            }
            let elapsed = ContinuousClock.now - start
            let result = try await revocation
            #expect(result.status == 0, "ssectl revoke: \(result.output)")
            #expect(result.output == "3\n", "three nodes heard it")
            print("revocation across 3 nodes through nginx: \(revoked.count) streams finished in \(elapsed)")
            #expect(elapsed < Self.revocationBound, "the last revoked stream finished after \(elapsed)")
            for (stream, node) in revoked {
                #expect(
                    stream.events == [
                        .init(id: first42, data: "before 42"),
                        .init(event: "revoked", data: #"{"reason":"signed out"}"#),
                    ], "stream on node \(node + 1)")
                #expect(stream.isChunked && String(decoding: stream.rawBody.suffix(5), as: UTF8.self) == "0\r\n\r\n")
            }

            // The other subject's streams go on.
            let after43 = try await publisher.publish("user.43", "after 43")
            for (stream, node) in others {
                try await stream.waitForEvents(2)
                #expect(
                    stream.events == [.init(id: first43, data: "before 43"), .init(id: after43, data: "after 43")],
                    "stream on node \(node + 1)")
                #expect(!stream.isClosed && !stream.isBodyComplete)
            }

            let refusalsPerNode = try await Self.refusedByEveryNode(cluster, topic: "user.42", token: revokedToken)

            for number in 1...3 {
                let auth = try await cluster.metrics(ofNode: number).auth
                let mine = revoked.filter { $0.node == number - 1 }.count
                let theirs = others.filter { $0.node == number - 1 }.count
                #expect(auth.revocations == 1, "node \(number)")
                #expect(auth.revokedStreams == mine, "node \(number)")
                #expect(auth.authorizedStreams == mine + theirs, "node \(number)")
                #expect(auth.expiredStreams == 0, "node \(number)")
                #expect(auth.refusals.filter { $0.value > 0 } == ["revoked": refusalsPerNode[number - 1]])
            }
        }

        /// A token id (`jti`) ends only that token's streams, on every node, and is refused until its `until`; a
        /// topic then ends every stream of it whatever the token.
        @Test func aTokenIDAndThenATopicAreRevokedOnEveryNode() async throws {
            let key = try TestTokenKey()
            let cluster = try await TestCluster.start(nodeCount: 3, gatewayArguments: key.gatewayArguments)
            defer { cluster.stop() }
            let publisher = try await TestPublisher.connect(cluster.redis)
            defer { publisher.close() }
            // Two tokens of one subject: a lost laptop's and a phone's.
            let lost = key.token(subscribe: ["team.7"], subject: "7", tokenID: "laptop-1", issuedAgo: 60)
            let kept = key.token(subscribe: ["team.7"], subject: "7", tokenID: "phone-1", issuedAgo: 60)
            let lostStreams = try await Self.streamsOnEveryNode(cluster, topic: "team.7", token: lost)
            let keptStreams = try await Self.streamsOnEveryNode(cluster, topic: "team.7", token: kept)
            defer { for (stream, _) in lostStreams + keptStreams { stream.close() } }
            let one = try await publisher.publish("team.7", "one")
            for (stream, _) in lostStreams + keptStreams { try await stream.waitForEvents(1) }

            // The token id: its streams end everywhere, the subject's other token goes on.
            let byToken = try await SSECtlProgram.run([
                "revoke", "--redis-url", cluster.redis.url, "--token", "laptop-1", "--until",
                String(TestTokens.unixTime(600)),
            ])
            #expect(byToken.status == 0 && byToken.output == "3\n", "\(byToken.output)")
            try await waitUntil("the lost token's streams finished") {
                lostStreams.allSatisfy { $0.stream.isBodyComplete }
            }
            for (stream, node) in lostStreams {
                #expect(
                    stream.events == [
                        .init(id: one, data: "one"), .init(event: "revoked", data: #"{"reason":"revoked"}"#),
                    ],
                    "node \(node + 1)")
            }
            let two = try await publisher.publish("team.7", "two")
            for (stream, node) in keptStreams {
                try await stream.waitForEvents(2)
                #expect(
                    stream.events == [.init(id: one, data: "one"), .init(id: two, data: "two")], "node \(node + 1)")
                #expect(!stream.isBodyComplete)
            }
            _ = try await Self.refusedByEveryNode(cluster, topic: "team.7", token: lost)

            // The topic: every stream of it ends, whatever its token, and the other token is refused for it too.
            let byTopic = try await SSECtlProgram.run([
                "revoke", "--redis-url", cluster.redis.url, "--topic", "team.7", "--reason", "team closed",
            ])
            #expect(byTopic.status == 0 && byTopic.output == "3\n", "\(byTopic.output)")
            try await waitUntil("the kept token's streams finished") {
                keptStreams.allSatisfy { $0.stream.isBodyComplete }
            }
            for (stream, node) in keptStreams {
                #expect(stream.events.last == .init(event: "revoked", data: #"{"reason":"team closed"}"#))
                #expect(stream.events.count == 3, "node \(node + 1)")
            }
            let refusals = try await Self.refusedByEveryNode(cluster, topic: "team.7", token: kept)

            for number in 1...3 {
                let auth = try await cluster.metrics(ofNode: number).auth
                let streams = (lostStreams + keptStreams).filter { $0.node == number - 1 }.count
                #expect(auth.revocations == 2, "node \(number)")
                #expect(auth.revokedStreams == streams, "node \(number)")
                #expect(auth.refusals.filter { $0.value > 0 } == ["revoked": refusals[number - 1]])
            }
        }
    }
}
