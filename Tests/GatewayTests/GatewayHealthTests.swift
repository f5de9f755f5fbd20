import Foundation
import Gateway
import LocalRedis
import NIOCore
import RedisClient
import SSETestSupport
import Testing

/// `GET /sse-health` (issue 16, point 5) and the access rule of the node's figures (`SSE_METRICS_TOKEN`).
@Suite("Per-connection health and the metrics token (real redis-server and sse-gateway)")
struct GatewayHealthTests {
    static func health(
        _ node: GatewayProcess, _ query: String = "", headers: [(String, String)] = []
    ) async throws -> HealthReport {
        let response = try await HTTPProbe.get(port: node.port, path: "/sse-health" + query, headers: headers)
        guard response.status == 200 else {
            throw HealthAnswer(description: "/sse-health\(query) answered \(response.status): \(response.body)")
        }
        #expect(response.header("Content-Type") == "application/json")
        return try JSONDecoder().decode(HealthReport.self, from: Data(response.body.utf8))
    }

    static func peer(of client: SSETestClient) -> String { "127.0.0.1:\(client.channel.localAddress?.port ?? -1)" }

    /// Three streams of three dialects: the aggregate, each connection's fields, and the orders and `top`.
    @Test func threeStreamsAreListedWithTheirFieldsInEachOrder() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(redis: redis, arguments: ["--threads", "1", "--heartbeat", "60"])
            let publisher = try await TestPublisher.connect(redis)
            defer { publisher.close() }
            let engine = try await SSETestClient.open(port: node.port, path: "/sse?topic=h1")
            try await engine.waitUntilConnected()
            let htmx = try await SSETestClient.open(port: node.port, path: "/sse?topic=h2&dialect=htmx")
            try await htmx.waitUntilConnected()
            let datastar = try await SSETestClient.open(
                port: node.port, path: "/sse?topic=h1&topic=h3&dialect=datastar")
            try await datastar.waitUntilConnected()
            try await publisher.publish("h2", "for htmx")
            try await htmx.waitForEvents(1)
            for index in 0..<3 { try await publisher.publish("h1", "h1 \(index)") }
            try await engine.waitForEvents(3)
            try await datastar.waitForEvents(3)

            let byEvents = try await Self.health(node, "?order=events&top=2")
            #expect(byEvents.nodeID == "test-\(node.port)")
            #expect(byEvents.streams == 3)
            #expect(byEvents.streamsByDialect == ["engine": 1, "htmx": 1, "datastar": 1, "turbo": 0])
            #expect(byEvents.replayingStreams == 0)
            #expect(byEvents.unsentBytes == 0)
            #expect(byEvents.order == "events" && byEvents.top == 2)
            #expect(byEvents.loops == 1 && byEvents.loopsAnswered == 1)
            // Three events each for the engine and datastar streams: the older first; htmx's one is past the top.
            #expect(byEvents.connections.map(\.topics) == [["h1"], ["h1", "h3"]])
            let first = try #require(byEvents.connections.first)
            #expect(first.dialect == "engine")
            #expect(first.peer == Self.peer(of: engine))
            #expect(first.loop == 0)
            #expect(first.eventsSent == 3)
            #expect(first.unsentBytes == 0)
            #expect(first.replaying == false)
            #expect(first.ageSeconds >= first.idleSeconds)
            #expect(byEvents.connections[1].dialect == "datastar")
            #expect(byEvents.connections[1].peer == Self.peer(of: datastar))
            #expect(byEvents.connections[1].eventsSent == 3)

            let byAge = try await Self.health(node, "?order=age")
            #expect(byAge.top == 20)
            #expect(byAge.connections.map(\.dialect) == ["engine", "htmx", "datastar"])
            #expect(byAge.connections.map(\.eventsSent) == [3, 1, 3])
            #expect(byAge.connections.map(\.peer) == [engine, htmx, datastar].map(Self.peer))
            #expect(byAge.oldestStreamSeconds == byAge.connections[0].ageSeconds)
            // Last written: htmx before the h1 events; of those, the engine stream's batch before datastar's flush.
            let byIdle = try await Self.health(node, "?order=idle")
            #expect(byIdle.connections.map(\.dialect) == ["htmx", "engine", "datastar"])
            // All unsent counts are 0: the default order falls back to age.
            let byDefault = try await Self.health(node)
            #expect(byDefault.order == "unsent")
            #expect(byDefault.connections.map(\.dialect) == ["engine", "htmx", "datastar"])

            let raw = try await HTTPProbe.get(port: node.port, path: "/sse-health?top=1&order=age")
            #expect(
                raw.body.hasPrefix(
                    #"{"connections":[{"age_seconds":"#))
            #expect(raw.body.contains(#""dialect":"engine","events_sent":3,"idle_seconds":"#))
            let head = try await HTTPProbe.get(port: node.port, path: "/sse-health", method: "HEAD")
            #expect(head.status == 200 && head.body.isEmpty)
            for client in [engine, htmx, datastar] { client.close() }
            try await waitUntil("no streams left") { try await Self.health(node).streams == 0 }
            let empty = try await Self.health(node)
            #expect(empty.connections.isEmpty && empty.oldestStreamSeconds == 0)
        }
    }

    /// A client that stops reading piles up unsent bytes on the node: it is first by `unsent`, and the aggregate is
    /// the sum of the streams'.
    @Test func aSlowReaderShowsUnsentBytesAndComesFirstByUnsent() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(
                redis: redis, arguments: ["--threads", "1", "--heartbeat", "60", "--max-unsent-bytes", "16000000"])
            let publisher = try await TestPublisher.connect(redis)
            defer { publisher.close() }
            let fast = try await SSETestClient.open(port: node.port, path: "/sse?topic=bulk")
            try await fast.waitUntilConnected()
            let slow = try await SSETestClient.open(port: node.port, path: "/sse?topic=bulk", reading: false)
            try await waitUntil("both streams open") { try await Self.health(node).streams == 2 }
            let chunk = String(repeating: "x", count: 64 * 1024)
            var published = 0
            var report = try await Self.health(node)
            // Each round adds 64 KB the slow reader does not take; the kernel's buffers fill after a few hundred KB.
            while report.connections.first?.unsentBytes ?? 0 == 0, published < 120 {
                try await publisher.publish("bulk", chunk)
                published += 1
                try await fast.waitForEvents(published)
                report = try await Self.health(node)
            }
            let first = try #require(report.connections.first)
            #expect(first.unsentBytes > 0)
            #expect(first.peer == Self.peer(of: slow))
            #expect(first.eventsSent == published)
            #expect(report.connections.count == 2)
            #expect(report.connections[1].peer == Self.peer(of: fast))
            #expect(report.unsentBytes == report.connections.reduce(0) { $0 + $1.unsentBytes })
            #expect(try await node.metrics().slowConsumerDisconnects == 0)
            fast.close()
            slow.close()
        }
    }

    @Test func badParametersAndMethodsGetOneLineErrors() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(redis: redis)
            let cases: [(String, String)] = [
                ("?top=0", #"top "0" is invalid: expected 1 to 1000"#),
                ("?top=1001", #"top "1001" is invalid: expected 1 to 1000"#),
                ("?top=ten", #"top "ten" is invalid: expected 1 to 1000"#),
                ("?order=size", #"order "size" is invalid: use age, idle, unsent, events"#),
                ("?top=5&order=", #"order "" is invalid: use age, idle, unsent, events"#),
            ]
            for (query, message) in cases {
                let response = try await HTTPProbe.get(port: node.port, path: "/sse-health" + query)
                #expect(response.status == 400, "\(query)")
                #expect(response.body == message + "\n", "\(query)")
            }
            let post = try await HTTPProbe.get(port: node.port, path: "/sse-health", method: "POST")
            #expect(post.status == 405)
            #expect(post.header("Allow") == "GET, HEAD")
            #expect(post.body == "POST not allowed on /sse-health: use GET, HEAD\n")
            #expect(try await Self.health(node, "?top=1000&order=events").top == 1000)
        }
    }

    /// With `--metrics-token` the figures need `Authorization: Bearer <token>`; the probes stay open; the token
    /// is in no answer and no log line. Without it everything is open.
    @Test func theMetricsTokenGuardsTheFiguresButNotTheProbes() async throws {
        try await withLocalRedis { redis in
            let token = "metrics-secret-4f1c9a7e2b"
            let node = try await GatewayProcess.start(redis: redis, arguments: ["--metrics-token", token])
            let good = [("Authorization", "Bearer \(token)")]
            for path in ["/sse-metrics", "/metrics", "/sse-health"] {
                let missing = try await HTTPProbe.get(port: node.port, path: path)
                #expect(missing.status == 401, "\(path)")
                #expect(missing.header("WWW-Authenticate") == #"Bearer realm="sse-metrics""#)
                #expect(missing.body == "metrics need a bearer token: send Authorization: Bearer <SSE_METRICS_TOKEN>\n")
                let wrong = try await HTTPProbe.get(
                    port: node.port, path: path, headers: [("Authorization", "Bearer \(token)x")])
                #expect(wrong.status == 401, "\(path)")
                #expect(wrong.body == "metrics token not accepted\n")
                let basic = try await HTTPProbe.get(
                    port: node.port, path: path, headers: [("Authorization", "Basic \(token)")])
                #expect(basic.status == 401, "\(path)")
                let allowed = try await HTTPProbe.get(port: node.port, path: path, headers: good)
                #expect(allowed.status == 200, "\(path)")
                #expect(!allowed.body.contains(token))
                let lowercase = try await HTTPProbe.get(
                    port: node.port, path: path, headers: [("Authorization", "bearer \(token)")])
                #expect(lowercase.status == 200, "\(path)")
            }
            for path in ["/healthz", "/readyz"] {
                #expect(try await HTTPProbe.get(port: node.port, path: path).status == 200, "\(path)")
            }
            let log = try String(contentsOfFile: node.logPath, encoding: .utf8)
            #expect(!log.contains(token))

            let open = try await GatewayProcess.start(redis: redis)
            for path in ["/sse-metrics", "/metrics", "/sse-health"] {
                #expect(try await HTTPProbe.get(port: open.port, path: path).status == 200, "\(path)")
            }
        }
    }
}

/// A `/sse-health` answer other than 200, as an error naming it.
struct HealthAnswer: Error, CustomStringConvertible {
    var description: String
}
