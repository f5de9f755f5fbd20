import Foundation
import Gateway
import LocalRedis
import NIOCore
import RedisClient
import SSEProtocol
import SSETestSupport
import Testing

/// How a stream's body is framed and how it ends, as real clients read it: chunked, each frame one chunk; an end
/// that should bring the client back (drain, slow-consumer cut, crash) has no last chunk, an end on purpose has
/// one after an `end` event. Real `sse-gateway` processes and a real `redis-server`.
@Suite("Gateway framing: chunked streams and how they end (real redis-server and sse-gateway)")
struct GatewayFramingTests {
    @Test func aStreamIsChunkedWithOneChunkPerFrame() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(redis: redis)
            let publisher = try await TestPublisher.connect(redis)
            defer { publisher.close() }
            let client = try await SSETestClient.open(port: node.port, path: "/sse?topic=framed")
            try await client.waitUntilConnected()
            let id = try await publisher.publish("framed", "hello")
            try await client.waitForEvents(1)

            #expect(client.header("Transfer-Encoding") == "chunked")
            #expect(client.header("Content-Length") == nil)
            let retry = try #require(client.retries.first)
            let frames = ["retry: \(retry)\n\n", ": connected to test-\(node.port)\n\n", "id: \(id)\ndata: hello\n\n"]
            let chunked = frames.map { String($0.utf8.count, radix: 16) + "\r\n" + $0 + "\r\n" }.joined()
            #expect(String(decoding: client.rawBody, as: UTF8.self) == chunked)
            #expect(!client.isBodyComplete)
            client.close()
        }
    }

    /// `ssectl end` reaches every node through the control channel: each stream of the topic, and only those, gets
    /// the `end` event and the last chunk, and then the connection closes; the node counts it.
    @Test func endFinishesTheStreamsOfATopicWithACompleteBody() async throws {
        try await withLocalRedis { redis in
            let nodes = [try await GatewayProcess.start(redis: redis), try await GatewayProcess.start(redis: redis)]
            let publisher = try await TestPublisher.connect(redis)
            defer { publisher.close() }
            var ending: [SSETestClient] = []
            for node in nodes {
                ending.append(try await SSETestClient.open(port: node.port, path: "/sse?topic=job.7"))
                ending.append(try await SSETestClient.open(port: node.port, path: "/sse?topic=other&topic=job.7"))
            }
            let staying = try await SSETestClient.open(port: nodes[0].port, path: "/sse?topic=other")
            for client in ending + [staying] { try await client.waitUntilConnected() }
            let before = try await publisher.publish("job.7", "progress 100")

            let ended = try await SSECtlTests.run(["end", "--redis-url", redis.url, "--reason", "job done", "job.7"])
            #expect(ended.status == 0 && ended.output == "2\n", "\(ended.error)")  // both nodes received it
            for client in ending {
                try await waitUntil("the ended stream closes") { client.isClosed }
                #expect(client.isBodyComplete)
                #expect(
                    client.events == [
                        .init(id: before, data: "progress 100"),
                        .init(event: "end", data: #"{"reason":"job done","topics":["job.7"]}"#),
                    ])
                #expect(String(decoding: client.rawBody.suffix(5), as: UTF8.self) == "0\r\n\r\n")
            }
            let after = try await publisher.publish("other", "still here")
            try await staying.waitForEvents(1)
            #expect(staying.events == [.init(id: after, data: "still here")])
            #expect(!staying.isClosed)
            for node in nodes {
                let metrics = try await node.metrics()
                #expect(metrics.endedStreams == 2)
            }
            // A malformed control message is ignored (and logged); the node goes on.
            try await publisher.connection.send("PUBLISH", ControlMessage.channel, #"{"end":{"topic":"a b"}}"#)
            let last = try await publisher.publish("other", "after a bad control message")
            try await staying.waitForEvents(2)
            #expect(staying.events.last == .init(id: last, data: "after a bad control message"))
            try await waitUntil("the warning is logged") { nodes[0].log.contains("ignored a control message") }
        }
    }

    /// The ends that must bring a client back leave the body unfinished: a drain, a slow-consumer cut, a crash.
    @Test func drainSlowConsumerCutAndCrashLeaveTheBodyUnfinished() async throws {
        try await withLocalRedis { redis in
            let draining = try await GatewayProcess.start(redis: redis, arguments: ["--drain-seconds", "0.2"])
            let crashing = try await GatewayProcess.start(redis: redis)
            let cutting = try await GatewayProcess.start(redis: redis, arguments: ["--max-unsent-bytes", "65536"])
            let publisher = try await TestPublisher.connect(redis)
            defer { publisher.close() }
            let drained = try await SSETestClient.open(port: draining.port, path: "/sse?topic=t")
            let crashed = try await SSETestClient.open(port: crashing.port, path: "/sse?topic=t")
            let slow = try await SSETestClient.open(port: cutting.port, path: "/sse?topic=t", reading: false)
            for client in [drained, crashed] { try await client.waitUntilConnected() }
            try await waitUntil("the slow stream is registered") {
                (try? await cutting.metrics().activeConnections) == 1
            }
            _ = try await publisher.publish("t", "before")
            try await drained.waitForEvents(1)
            try await crashed.waitForEvents(1)

            draining.signal(SIGTERM)
            crashing.kill()
            // 8 MiB: more than the 64 KiB limit plus all the kernel buffers for a client that reads nothing.
            let blob = String(repeating: "x", count: 100 * 1024)
            for batch in 0..<8 {
                _ = try await publisher.publishBatch((0..<10).map { (topic: "t", data: "\(batch)-\($0)\(blob)") })
            }
            try await waitUntil("the slow stream is cut", timeout: .seconds(30)) {
                (try? await cutting.metrics().slowConsumerDisconnects) == 1
            }
            for client in [drained, crashed] {
                try await waitUntil("the stream closes") { client.isClosed }
                #expect(client.isChunked && !client.isBodyComplete && client.malformedResponse == nil)
                #expect(!client.events.contains { $0.event == "end" })
            }
            #expect(drained.retries.count == 2)  // the opening hint and the drain's
            slow.channel.setOption(.autoRead, value: true).whenComplete { _ in slow.channel.read() }
            try await waitUntil("the slow stream's socket closes") { slow.isClosed }
            #expect(slow.isChunked && !slow.isBodyComplete)
        }
    }

    /// HTTP/1.0 cannot carry chunked coding: such a client gets a close-delimited body with the same frames.
    @Test func anHTTP10ClientGetsACloseDelimitedBody() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(redis: redis)
            let publisher = try await TestPublisher.connect(redis)
            defer { publisher.close() }
            let client = try await SSETestClient.open(
                port: node.port, path: "",
                rawRequest: "GET /sse?topic=old HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            try await client.waitUntilConnected()
            let id = try await publisher.publish("old", "one\ntwo")
            try await client.waitForEvents(1)
            #expect(client.header("Transfer-Encoding") == nil)
            let retry = try #require(client.retries.first)
            #expect(
                String(decoding: client.rawBody, as: UTF8.self)
                    == "retry: \(retry)\n\n: connected to test-\(node.port)\n\nid: \(id)\ndata: one\ndata: two\n\n")
            #expect(try await SSECtlTests.run(["end", "--redis-url", redis.url, "old"]).status == 0)
            try await waitUntil("the stream ends") { client.isClosed }
            #expect(client.events.last == .init(event: "end", data: #"{"reason":"ended","topics":["old"]}"#))
        }
    }

    /// `tag=topic`: one stream carries several topics and each event names its topic on its first data line, in
    /// every dialect, live and in a replay; control events stay untagged.
    @Test func taggedStreamsNameEachEventsTopicLiveAndInReplay() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(redis: redis)
            let publisher = try await TestPublisher.connect(redis)
            defer { publisher.close() }
            let start = try await publisher.publish("alpha", "before")
            let tagged = try await SSETestClient.open(
                port: node.port, path: "/sse?topic=alpha&topic=beta&tag=topic&heartbeat=event")
            let htmx = try await SSETestClient.open(port: node.port, path: "/sse?topic=beta&tag=topic&dialect=htmx")
            let plain = try await SSETestClient.open(port: node.port, path: "/sse?topic=alpha")
            for client in [tagged, htmx, plain] { try await client.waitUntilConnected() }
            let one = try await publisher.publish("alpha", "one\ntwo")
            let two = try await publisher.publish("beta", #"{"html":{"list":"<li>x</li>"}}"#)
            try await publisher.connection.send("PUBLISH", "sse:{beta}", "fire")
            try await tagged.waitForEvents(3)
            try await htmx.waitForEvents(2)
            try await plain.waitForEvents(1)
            #expect(
                tagged.events == [
                    .init(id: one, data: "alpha\none\ntwo"),
                    .init(id: two, data: "beta\n" + #"{"html":{"list":"<li>x</li>"}}"#),
                    .init(data: "beta\nfire"),
                ])
            #expect(
                htmx.events == [.init(id: two, event: "list", data: "beta\n<li>x</li>"), .init(data: "beta\nfire")])
            #expect(plain.events == [.init(id: one, data: "one\ntwo")])

            // A replay is tagged the same way.
            let resumed = try await SSETestClient.open(
                port: node.port, path: "/sse?topic=alpha&topic=beta&tag=topic", headers: [("Last-Event-ID", start)])
            try await resumed.waitForEvents(2)
            #expect(resumed.events == Array(tagged.events.prefix(2)))

            let refused = try await HTTPProbe.get(port: node.port, path: "/sse?topic=alpha&tag=yes")
            #expect(refused.status == 400)
            #expect(refused.body == "tag \"yes\" is unknown: use topic or none\n")
            for client in [tagged, htmx, plain, resumed] { client.close() }
        }
    }

    /// CORS as credentialed clients need it: the origin echoed with `Access-Control-Allow-Credentials: true`, and
    /// preflights that allow the headers EventSource, Datastar and fetch readers send, plus the configured ones.
    @Test func corsAnswersLetCredentialedClientsAndTheirHeadersThrough() async throws {
        try await withLocalRedis { redis in
            let listed = try await GatewayProcess.start(
                redis: redis,
                arguments: [
                    "--allowed-origins", "https://app.example,http://localhost:8000", "--allowed-headers",
                    "X-Trace-Id",
                ])
            let any = try await GatewayProcess.start(redis: redis)
            for (node, origin) in [(listed, "https://app.example"), (any, "https://elsewhere.example")] {
                let stream = try await SSETestClient.open(
                    port: node.port, path: "/sse?topic=c", headers: [("Origin", origin)])
                try await stream.waitUntilConnected()
                #expect(stream.header("Access-Control-Allow-Origin") == origin)
                #expect(stream.header("Access-Control-Allow-Credentials") == "true")
                #expect(stream.header("Vary") == "Origin")
                stream.close()
            }
            let preflight = try await HTTPProbe.get(
                port: listed.port, path: "/sse?topic=c", method: "OPTIONS",
                headers: [
                    ("Origin", "http://localhost:8000"), ("Access-Control-Request-Method", "GET"),
                    ("Access-Control-Request-Headers", "datastar-request,content-type,last-event-id"),
                ])
            #expect(preflight.status == 204)
            #expect(preflight.header("Access-Control-Allow-Origin") == "http://localhost:8000")
            #expect(preflight.header("Access-Control-Allow-Credentials") == "true")
            #expect(preflight.header("Access-Control-Allow-Methods") == "GET")
            #expect(
                preflight.header("Access-Control-Allow-Headers")
                    == "Last-Event-ID, Cache-Control, Content-Type, Datastar-Request, Authorization, X-Trace-Id")
            #expect(preflight.header("Access-Control-Max-Age") == "600")

            let refused = try await HTTPProbe.get(
                port: listed.port, path: "/sse?topic=c", headers: [("Origin", "https://evil.example")])
            #expect(refused.status == 403)
            #expect(refused.body == "origin \"https://evil.example\" is not allowed: add it to SSE_ALLOWED_ORIGINS\n")
            #expect(refused.header("Access-Control-Allow-Origin") == nil)
            let sameOrigin = try await SSETestClient.open(port: listed.port, path: "/sse?topic=c")
            try await sameOrigin.waitUntilConnected()
            #expect(sameOrigin.header("Access-Control-Allow-Origin") == nil)
            sameOrigin.close()
        }
    }

    @Test func aBadAllowedHeaderStopsTheGatewayWithOneLine() async throws {
        let result = try await runProgram(
            GatewayProcess.executable, ["--allowed-headers", "X-Ok,Bad Header", "--port", "0"],
            timeout: .seconds(20))
        #expect(result.status != 0)
        #expect(result.output.contains("SSE_ALLOWED_HEADERS entry \"Bad Header\" is invalid: expected a header name"))
    }
}

extension GatewayFramingTests {
    @Test func ssectlEndRefusesABadTopicOrReasonWithOneLine() async throws {
        let badTopic = try await SSECtlTests.run(["end", "a b"])
        #expect(badTopic.status == 64)
        #expect(badTopic.error.contains("topic \"a b\" is invalid"), "\(badTopic.error)")
        let badReason = try await SSECtlTests.run(["end", "--reason", "two\nlines", "job"])
        #expect(badReason.status == 64)
        #expect(badReason.error.contains("is invalid: one line of 1–200 characters"), "\(badReason.error)")
    }
}
