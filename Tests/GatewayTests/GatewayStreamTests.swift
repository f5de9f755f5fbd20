import Foundation
import Gateway
import LocalRedis
import RedisClient
import SSETestSupport
import Testing

@Suite("Gateway streams, errors and metrics (real redis-server and sse-gateway)")
struct GatewayStreamTests {
    @Test func severalTopicsOnOneStreamKeepOrderAndExactFraming() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(redis: redis)
            let publisher = try await TestPublisher.connect(redis)
            defer { publisher.close() }
            let client = try await SSETestClient.open(port: node.port, path: "/sse?topic=alpha&topic=beta")
            try await client.waitUntilConnected()

            let first = try await publisher.publish("alpha", "one")
            let second = try await publisher.publish("beta", "line1\nline2\r\nline3\rline4", event: "update")
            let third = try await publisher.publish("alpha", "héllo → 世界 🎉")
            try await publisher.connection.send("PUBLISH", "sse:{beta}", "plain\nfire-and-forget")
            try await publisher.connection.send("PUBLISH", "sse:{alpha}", #"{"event":"note","data":"json named"}"#)
            let fourth = try await publisher.publish("beta", "last\n")
            try await publisher.connection.send("PUBLISH", "sse:{gamma}", "not subscribed")
            try await client.waitForEvents(6)

            #expect(client.status == 200)
            #expect(client.header("Content-Type") == "text/event-stream; charset=utf-8")
            #expect(client.header("Cache-Control") == "no-cache")
            #expect(client.header("X-Accel-Buffering") == "no")
            let retry = try #require(client.retries.first)
            #expect((2000...3000).contains(retry))
            let expected =
                "retry: \(retry)\n\n: connected to test-\(node.port)\n\n"
                + "id: \(first)\ndata: one\n\n"
                + "id: \(second)\nevent: update\ndata: line1\ndata: line2\ndata: line3\ndata: line4\n\n"
                + "id: \(third)\ndata: héllo → 世界 🎉\n\n"
                + "data: plain\ndata: fire-and-forget\n\n"
                + "event: note\ndata: json named\n\n"
                + "id: \(fourth)\ndata: last\ndata: \n\n"
            #expect(String(decoding: client.body, as: UTF8.self) == expected)
            client.close()
        }
    }

    /// Idle streams get a heartbeat each interval: a comment by default, an `event: heartbeat` with
    /// `heartbeat=event` (what engine.js asks for, since EventSource hides comments); a stream that is written to
    /// gets none. An unknown `heartbeat=` value is a 400.
    @Test func idleStreamsGetHeartbeatsAsCommentsOrAsEvents() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(redis: redis, arguments: ["--heartbeat", "0.2"])
            let comments = try await SSETestClient.open(port: node.port, path: "/sse?topic=idle")
            let events = try await SSETestClient.open(port: node.port, path: "/sse?topic=idle&heartbeat=event")
            try await comments.waitUntilConnected()
            try await events.waitUntilConnected()
            try await waitUntil("two heartbeats on each stream") {
                comments.comments.filter { $0 == "heartbeat" }.count >= 2 && events.events.count >= 2
            }
            #expect(comments.events.isEmpty)
            #expect(Set(comments.comments) == ["heartbeat", "connected to test-\(node.port)"])
            #expect(Set(events.events) == [.init(id: nil, event: "heartbeat", data: "")])
            #expect(events.comments == ["connected to test-\(node.port)"])
            let raw = String(decoding: events.body, as: UTF8.self)
            #expect(raw.contains("\n\nevent: heartbeat\ndata:\n\n"))

            let response = try await HTTPProbe.get(port: node.port, path: "/sse?topic=idle&heartbeat=loud")
            #expect(response.status == 400)
            #expect(response.body == "heartbeat \"loud\" is unknown: use comment or event\n")
            comments.close()
            events.close()
        }
    }

    @Test func badRequestsGetOneLineErrorsAndOtherStreamsGoOn() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(
                redis: redis,
                arguments: [
                    // A long head timeout: a probe sent late by a starved test task is still answered (the 2 s
                    // timeout itself is checked by its own test below, with nothing else on its node).
                    "--max-topics", "3", "--allowed-origins", "https://good.example", "--max-connections", "3",
                    "--request-timeout", "30", "--max-header-bytes", "4096",
                ])
            let publisher = try await TestPublisher.connect(redis)
            defer { publisher.close() }
            let bystander = try await SSETestClient.open(port: node.port, path: "/sse?topic=calm")
            try await bystander.waitUntilConnected()
            let port = node.port

            func expectError(
                _ path: String, method: String = "GET", headers: [(String, String)] = [], status: Int, body: String
            ) async throws {
                let response = try await HTTPProbe.get(port: port, path: path, method: method, headers: headers)
                #expect(response.status == status, "\(method) \(path)")
                #expect(response.body == body + "\n", "\(method) \(path)")
            }
            try await expectError(
                "/sse", status: 400, body: "missing topic: use /sse?topic=NAME (repeat topic= for several)")
            try await expectError(
                "/sse?topic=a%20b", status: 400,
                body: #"topic "a b" is invalid: use letters, digits and - _ . : (1–128 characters)"#)
            try await expectError(
                "/sse?topic=\(String(repeating: "x", count: 129))", status: 400,
                body: #"topic ""# + String(repeating: "x", count: 129)
                    + #"" is invalid: use letters, digits and - _ . : (1–128 characters)"#)
            try await expectError(
                "/sse?topic=a&topic=b&topic=c&topic=d", status: 400,
                body: "too many topics: 4 given, at most 3 per stream")
            try await expectError(
                "/sse?topic=a", headers: [("Last-Event-ID", "yesterday")], status: 400,
                body:
                    #"Last-Event-ID "yesterday" is malformed: expected <milliseconds>-<sequence>, e.g. 1700000000000-0"#
            )
            try await expectError(
                "/sse?topic=a&lastEventId=12-x", status: 400,
                body: #"Last-Event-ID "12-x" is malformed: expected <milliseconds>-<sequence>, e.g. 1700000000000-0"#)
            try await expectError("/nope", status: 404, body: "no route for /nope: try /sse?topic=NAME")
            try await expectError(
                "/sse?topic=a", method: "POST", status: 405, body: "POST not allowed on /sse: use GET, OPTIONS")
            try await expectError(
                "/healthz", method: "DELETE", status: 405, body: "DELETE not allowed on /healthz: use GET, HEAD")
            try await expectError(
                "/sse?topic=a", headers: [("Origin", "https://evil.example")], status: 403,
                body: #"origin "https://evil.example" is not allowed: add it to SSE_ALLOWED_ORIGINS"#)
            try await expectError(
                "/sse?topic=a", headers: [("X-Big", String(repeating: "y", count: 5000))], status: 431,
                body: "request headers too large: at most 4096 bytes")
            try await expectError(
                "/sse?topic=a", headers: [("X-Huge", String(repeating: "z", count: 100_000))], status: 431,
                body: "request headers too large")

            // An allowed origin gets its CORS header.
            let allowed = try await SSETestClient.open(
                port: port, path: "/sse?topic=calm", headers: [("Origin", "https://good.example")])
            try await waitUntil("allowed origin answered") { allowed.status != nil }
            #expect(allowed.status == 200)
            #expect(allowed.header("Access-Control-Allow-Origin") == "https://good.example")

            // The connection limit: bystander + allowed + one more, then 503.
            let third = try await SSETestClient.open(port: port, path: "/sse?topic=calm")
            try await waitUntil("third stream open") { third.status == 200 }
            let refused = try await HTTPProbe.get(port: port, path: "/sse?topic=calm")
            #expect(refused.status == 503)
            #expect(refused.header("Retry-After") == "5")
            #expect(refused.body == "node at its limit of 3 streams\n")

            // The bystander's stream was never disturbed.
            let id = try await publisher.publish("calm", "still here")
            try await bystander.waitForEvents(1)
            #expect(bystander.events == [.init(id: id, event: nil, data: "still here")])
            #expect(!bystander.isClosed)
            #expect(node.reapIfExited() == nil)
            for client in [bystander, allowed, third] { client.close() }
        }
    }

    @Test func anIncompleteRequestHeadIsClosedAfterTheHeadTimeout() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(redis: redis, arguments: ["--request-timeout", "2"])
            let port = node.port
            // A request head that never completes is closed after the timeout, without an answer.
            // Timed from before the connect: the server's clock for the head starts at its accept, which is later,
            // however long a starved test task takes to get here from the connect.
            let started = ContinuousClock.now
            let slow = try await SSETestClient.open(
                port: port, path: "", rawRequest: "GET /sse?topic=calm HTTP/1.1\r\n")
            try await waitUntil("incomplete request closed") { slow.isClosed }
            // Closed by the 2 s head timeout: not at once, and not much later. (With 0.5 s, a starved test task in
            // a full parallel run sometimes sent a probe's request only after the server had given up on it.)
            #expect(ContinuousClock.now - started >= .milliseconds(1500))
            #expect(ContinuousClock.now - started < .seconds(8))
            #expect(slow.status == nil)

            #expect(node.reapIfExited() == nil)
        }
    }

    @Test func metricsMatchWhatHappened() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(redis: redis)
            let publisher = try await TestPublisher.connect(redis)
            defer { publisher.close() }
            let clients = try await (0..<3).asyncMap { _ in
                try await SSETestClient.open(port: node.port, path: "/sse?topic=m1&topic=m2")
            }
            for client in clients { try await client.waitUntilConnected() }
            _ = try await publisher.publishBatch((0..<10).map { (topic: $0 % 2 == 0 ? "m1" : "m2", data: "e\($0)") })
            for client in clients { try await client.waitForEvents(10) }
            clients[0].close()
            _ = try await HTTPProbe.get(port: node.port, path: "/sse")  // one 400
            try await waitUntil("one stream closed") {
                (try await node.metrics().activeConnections) == 2
            }

            let metrics = try await node.metrics()
            #expect(metrics.nodeID == "test-\(node.port)")
            #expect(metrics.activeConnections == 2)
            #expect(metrics.connectionsTotal == 3)
            #expect(metrics.totalEventsSent == 30)
            #expect(metrics.messagesReceived == 10)
            #expect(metrics.slowConsumerDisconnects == 0)
            #expect(metrics.replayedEvents == 0)
            #expect(metrics.resyncs == 0)
            #expect(metrics.rejectedRequests == 1)
            #expect(metrics.streamRequests == 4)
            #expect(metrics.rejectedStreamRequests == 1)
            #expect(metrics.errorRate == 0.25)
            #expect(metrics.averageConnectionDurationSeconds > 0)
            #expect(metrics.uptimeSeconds > 0)
            // A rate over at least a second of samples cannot exceed what was sent (RateWindowTests: exact values).
            #expect(metrics.eventsPerSecond >= 0 && metrics.eventsPerSecond <= Double(metrics.totalEventsSent))
            let redisFigures = metrics.redis
            #expect(redisFigures.connected == true)
            #expect(redisFigures.reconnects == 0)
            #expect(redisFigures.subscribedTopics == 2)

            let prometheus = try await HTTPProbe.get(port: node.port, path: "/metrics")
            #expect(prometheus.status == 200)
            let label = "{node=\"test-\(node.port)\"}"
            for line in [
                "sse_connections_total\(label) 3", "sse_events_sent_total\(label) 30",
                "sse_active_connections\(label) 2.0",
                "sse_redis_connected\(label) 1.0", "sse_rejected_requests_total\(label) 1",
            ] {
                #expect(prometheus.body.contains(line + "\n"), "missing \(line) in:\n\(prometheus.body)")
            }
            #expect(try await HTTPProbe.get(port: node.port, path: "/healthz").body == "ok\n")
            let head = try await HTTPProbe.get(port: node.port, path: "/healthz", method: "HEAD")
            #expect(head.status == 200)
            #expect(head.header("Content-Length") == "3")
            #expect(head.body == "")
            #expect(try await HTTPProbe.get(port: node.port, path: "/readyz").body == "ready\n")
            for client in clients { client.close() }
        }
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
