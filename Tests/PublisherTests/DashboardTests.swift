import Foundation
import LocalRedis
import SSEProtocol
import SSETestSupport
import Testing

@testable import Publisher

/// `GET /dashboard`: the page rendered from the node registry (what a refresh without JavaScript shows), the
/// script's charts against the server's, and the page with real nodes coming and going.
@Suite("The cluster dashboard")
struct DashboardTests {
    static func document(_ id: String, state: NodeDocument.State = .ready, streams: Int, at: Int64) -> NodeDocument {
        NodeDocument(
            nodeID: id, startedMilliseconds: at - 60_000, atMilliseconds: at, beat: 60, ttlMilliseconds: 3000,
            state: state, streams: streams, eventsPerSecond: 12.25, connectionsTotal: 9, slowConsumerCuts: 1,
            shedDeliveries: 2, shedConnections: 0, resyncs: 3, redisLinksUp: 1, redisLinksTotal: 1,
            deliveryP50Milliseconds: 1.5, deliveryP99Milliseconds: 7)
    }

    @Test func thePageShowsEveryNodeAndTheTotalsOfThoseUpWithEveryValueEscaped() throws {
        let now: Int64 = 1_800_000_000_000
        let hostile = "<img src=x onerror=alert(1)>"
        let beats = (0..<3).map { Self.document(hostile, streams: $0, at: now - 2000 + Int64($0) * 1000) }
        let state = ClusterState(
            nodes: [
                .init(id: "gw-1", document: Self.document("gw-1", streams: 5, at: now), isDown: false, beats: []),
                .init(id: "gw-2", document: Self.document("gw-2", streams: 4, at: now - 5000), isDown: true, beats: []),
                .init(id: hostile, document: beats.last, isDown: false, beats: beats),
            ], readAt: now)
        let html = DashboardPage(state: state, sseURL: "", scriptVersion: "v1").html
        #expect(!html.contains(hostile))
        #expect(html.contains("<th scope=\"row\">&lt;img src=x onerror=alert(1)&gt;</th>"))
        #expect(html.contains("<tr data-node=\"gw-1\" data-state=\"ready\">"))
        #expect(html.contains("<tr data-node=\"gw-2\" data-state=\"down\">"))
        #expect(
            html.contains(
                "<td data-field=\"streams\">5</td><td data-field=\"events_per_second\">12.3</td>"
                    + "<td data-field=\"delivery_p50_ms\">1.5</td><td data-field=\"delivery_p99_ms\">7</td>"
                    + "<td data-field=\"redis_links\">1/1</td>"))
        // Totals count the nodes up only: 5 + 2 streams, two ready, one down.
        for (field, value) in [("ready", "2"), ("down", "1"), ("streams", "7"), ("resyncs", "6"), ("worst_p99", "7")] {
            #expect(
                html.contains("<div class=\"total\" data-total=\"\(field)\"><span class=\"value\">\(value)</span>"),
                "total \(field)")
        }
        // One polyline per node in each chart; the hostile node's three beats in the streams chart.
        #expect(html.components(separatedBy: "<polyline").count - 1 == 9)
        #expect(
            html.contains(
                "<polyline class=\"series s2\" data-node=\"&lt;img src=x onerror=alert(1)&gt;\" "
                    + "points=\"586.3,140.0 588.2,75.0 590.0,10.0\"/>"))
        // The script's state cannot close its element.
        let start = try #require(html.range(of: "<script type=\"application/json\" id=\"cluster-state\">"))
        let end = try #require(html.range(of: "</script>", range: start.upperBound..<html.endIndex))
        let json = String(html[start.upperBound..<end.lowerBound])
        #expect(!json.contains("<"))
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect((parsed["nodes"] as? [[String: Any]])?.map { $0["id"] as? String } == ["gw-1", "gw-2", hostile])
    }

    @Test func theScriptDrawsTheSameChartAsTheServer() async throws {
        let now: Int64 = 1_800_000_000_000
        let series = [
            SVGChart.Series(
                name: "gw-1", points: [(now - 400_000, 9), (now - 299_000, 3), (now - 1000, 17.5), (now, 4)]),
            SVGChart.Series(name: "a\"b", points: [(now - 150_000, 0.25), (now - 10, 1234)]),
            SVGChart.Series(name: "empty", points: []),
        ]
        let expected = SVGChart(title: "Events/s", unit: "", series: series, now: now).svg
        let literal = series.map { line in
            "{name: " + JSONValue.string(line.name).compactText + ", points: ["
                + line.points.map { "[\($0.0), \($0.1)]" }.joined(separator: ", ") + "]}"
        }.joined(separator: ", ")
        let node = try #require(EngineScriptTests.node, "node is not installed (apt-get install nodejs)")
        let directory = NSTemporaryDirectory() + "/dashboard-js-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try PublisherResources.dashboardScript().write(
            toFile: directory + "/dashboard.js", atomically: true, encoding: .utf8)
        try """
        const dashboard = require('./dashboard.js');
        process.stdout.write(dashboard.chart('Events/s', [\(literal)], \(now)) + '\\n');
        """.write(toFile: directory + "/test.js", atomically: true, encoding: .utf8)
        let result = try await runProgram(node, [directory + "/test.js"], timeout: .seconds(30))
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output == expected + "\n")
        #expect(SVGChart.axisMaximum(1234) == 2000 && SVGChart.axisMaximum(0.3) == 1 && SVGChart.axisMaximum(50) == 50)
    }

    /// What the dashboard shows for `node`: its row's state and streams, read from the page.
    static func row(_ html: String, _ node: String) -> (state: String, streams: String)? {
        guard let start = html.range(of: "<tr data-node=\"\(node)\" data-state=\"") else { return nil }
        let rest = html[start.upperBound...]
        guard let quote = rest.firstIndex(of: "\""),
            let streams = rest.range(of: "<td data-field=\"streams\">"),
            let close = rest[streams.upperBound...].firstIndex(of: "<")
        else { return nil }
        return (String(rest[..<quote]), String(rest[streams.upperBound..<close]))
    }

    @Test func realNodesShowWithTheirStreamsAKilledOneIsDownWithinThreeSecondsAndNoRedisIs503() async throws {
        try await BoardStack.with { stack in
            let second = try await GatewayProcess.start(redis: stack.redis)
            var streams: [SSETestClient] = []
            for _ in 0..<3 {
                let stream = try await SSETestClient.open(port: second.port, path: "/sse?topic=news")
                try await stream.waitUntilConnected()
                streams.append(stream)
            }
            defer { for stream in streams { stream.close() } }
            let first = "test-\(stack.gateway.port)"
            let other = "test-\(second.port)"
            try await waitUntil("the dashboard shows both nodes and the three streams", timeout: .seconds(10)) {
                let page = try await HTTPProbe.get(port: stack.publisher.port, path: "/dashboard")
                return page.status == 200 && Self.row(page.body, first)?.state == "ready"
                    && Self.row(page.body, other).map { $0 == ("ready", "3") } == true
            }
            let page = try await HTTPProbe.get(port: stack.publisher.port, path: "/dashboard")
            #expect(page.header("Content-Type") == "text/html; charset=utf-8")
            #expect(page.header("Cache-Control") == "no-store")
            #expect(page.body.contains("<script src=\"/dashboard.js?v="))
            let script = try await HTTPProbe.get(port: stack.publisher.port, path: "/dashboard.js")
            let scriptText = try PublisherResources.dashboardScript()
            #expect(script.status == 200 && script.body == scriptText)

            second.kill()
            let killed = ContinuousClock.now
            try await waitUntil("the killed node shows as down", timeout: .seconds(5)) {
                let page = try await HTTPProbe.get(port: stack.publisher.port, path: "/dashboard")
                return Self.row(page.body, other)?.state == "down"
            }
            let took = ContinuousClock.now - killed
            #expect(took < .milliseconds(3500), "down after \(took)")
            let after = try await HTTPProbe.get(port: stack.publisher.port, path: "/dashboard")
            #expect(after.body.contains("<div class=\"total\" data-total=\"down\"><span class=\"value\">1</span>"))
            #expect(Self.row(after.body, first)?.state == "ready")

            stack.redis.pause()
            defer { stack.redis.resume() }
            let unavailable = try await HTTPProbe.get(port: stack.publisher.port, path: "/dashboard")
            #expect(unavailable.status == 503)
            #expect(unavailable.header("Retry-After") == "1")
            #expect(unavailable.body.contains("<p class=\"problem\" role=\"alert\">Redis unavailable: "))
        }
    }
}
