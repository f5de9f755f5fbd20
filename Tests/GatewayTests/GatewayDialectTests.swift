import Foundation
import Gateway
import LocalRedis
import RedisClient
import SSETestSupport
import Testing

/// `GET /sse?dialect=…` against real redis-server and sse-gateway processes: each dialect's exact frames for a
/// published patch, plain events untouched, one encode per dialect per message per node, and the same frames from
/// replay and from the backfill after a Redis reconnect.
@Suite("Gateway dialects (real redis-server and sse-gateway)")
struct GatewayDialectTests {
    /// Two fragments (one multi-line), two variables and exec.
    static let patch =
        #"{"html":{"posts":"<li>one</li>\n<li>two</li>","count":"2"},"#
        + #""js":{"postCount":2,"user":{"name":"Ann"},"exec":"notify('saved')"}}"#
    static let scriptOnly = #"{"js":{"exec":"go()"}}"#
    static let fireAndForget = #"{"html":{"status":"<b>ok</b>"}}"#

    /// The stream's body after its opening `retry:` and comment.
    static func frames(_ client: SSETestClient, port: Int) throws -> String {
        let body = String(decoding: client.body, as: UTF8.self)
        let retry = try #require(client.retries.first)
        let opening = "retry: \(retry)\n\n: connected to test-\(port)\n\n"
        #expect(body.hasPrefix(opening))
        return String(body.dropFirst(opening.count))
    }

    @Test func eachDialectGetsItsOwnFramesAndEachIsEncodedOncePerMessage() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(redis: redis)
            let publisher = try await TestPublisher.connect(redis)
            defer { publisher.close() }
            let engine = try await SSETestClient.open(port: node.port, path: "/sse?topic=board")
            let htmx = try await SSETestClient.open(port: node.port, path: "/sse?topic=board&dialect=htmx")
            let htmx2 = try await SSETestClient.open(port: node.port, path: "/sse?dialect=htmx&topic=board")
            let datastar = try await SSETestClient.open(port: node.port, path: "/sse?topic=board&dialect=datastar")
            let turbo = try await SSETestClient.open(port: node.port, path: "/sse?topic=board&dialect=turbo")
            let clients = [engine, htmx, htmx2, datastar, turbo]
            for client in clients { try await client.waitUntilConnected() }

            let patch = try await publisher.publish("board", Self.patch)
            let note = try await publisher.publish("board", "hello\nworld", event: "note")
            try await publisher.connection.send("PUBLISH", "sse:{board}", Self.fireAndForget)
            let script = try await publisher.publish("board", Self.scriptOnly)
            try await engine.waitForEvents(4)
            try await htmx.waitForEvents(6)
            try await htmx2.waitForEvents(6)
            try await datastar.waitForEvents(7)
            try await turbo.waitForEvents(4)

            let plain = "id: \(note)\nevent: note\ndata: hello\ndata: world\n\n"
            #expect(
                try Self.frames(engine, port: node.port)
                    == "id: \(patch)\ndata: \(Self.patch)\n\n" + plain + "data: \(Self.fireAndForget)\n\n"
                    + "id: \(script)\ndata: \(Self.scriptOnly)\n\n")

            let htmxExpected =
                "event: posts\ndata: <li>one</li>\ndata: <li>two</li>\n\n" + "event: count\ndata: 2\n\n"
                + "id: \(patch)\nevent: sse-script\ndata: <script>document.currentScript.remove();\n"
                + "data: window[\"postCount\"] = 2;\ndata: window[\"user\"] = {\"name\":\"Ann\"};\n"
                + "data: notify('saved')\ndata: </script>\n\n"
                + plain + "event: status\ndata: <b>ok</b>\n\n"
                + "id: \(script)\nevent: sse-script\ndata: <script>document.currentScript.remove();\ndata: go()\n"
                + "data: </script>\n\n"
            #expect(try Self.frames(htmx, port: node.port) == htmxExpected)
            #expect(try Self.frames(htmx2, port: node.port) == htmxExpected)

            #expect(
                try Self.frames(datastar, port: node.port)
                    == "event: datastar-patch-elements\ndata: selector #posts\ndata: mode inner\n"
                    + "data: elements <li>one</li>\ndata: elements <li>two</li>\n\n"
                    + "event: datastar-patch-elements\ndata: selector #count\ndata: mode inner\ndata: elements 2\n\n"
                    + "event: datastar-patch-signals\ndata: signals {\"postCount\":2,\"user\":{\"name\":\"Ann\"}}\n\n"
                    + "event: datastar-patch-elements\nid: \(patch)\ndata: mode append\ndata: selector body\n"
                    + "data: elements <script data-effect=\"el.remove()\">notify('saved')</script>\n\n"
                    + plain
                    + "event: datastar-patch-elements\ndata: selector #status\ndata: mode inner\n"
                    + "data: elements <b>ok</b>\n\n"
                    + "event: datastar-patch-elements\nid: \(script)\ndata: mode append\ndata: selector body\n"
                    + "data: elements <script data-effect=\"el.remove()\">go()</script>\n\n")

            #expect(
                try Self.frames(turbo, port: node.port)
                    == "id: \(patch)\n"
                    + "data: <turbo-stream action=\"update\" target=\"posts\"><template><li>one</li>\n"
                    + "data: <li>two</li></template></turbo-stream>\n"
                    + "data: <turbo-stream action=\"update\" target=\"count\"><template>2</template></turbo-stream>\n"
                    + "data: <turbo-stream action=\"append\" targets=\"body\"><template>"
                    + "<script>document.currentScript.remove();\n"
                    + "data: window[\"postCount\"] = 2;\ndata: window[\"user\"] = {\"name\":\"Ann\"};\n"
                    + "data: notify('saved')\ndata: </script></template></turbo-stream>\n\n"
                    + plain
                    + "data: <turbo-stream action=\"update\" target=\"status\"><template><b>ok</b></template>"
                    + "</turbo-stream>\n\n"
                    + "id: \(script)\n"
                    + "data: <turbo-stream action=\"append\" targets=\"body\"><template>"
                    + "<script>document.currentScript.remove();\ndata: go()\n"
                    + "data: </script></template></turbo-stream>\n\n")

            // Four messages. Each patch was encoded once per dialect in use (two htmx streams, one encode); the
            // plain event once, as engine, shared by every dialect.
            let metrics = try await node.metrics()
            let encodes = metrics.dialectEncodes
            #expect(encodes == ["engine": 4, "htmx": 3, "datastar": 3, "turbo": 3])
            #expect(metrics.messagesReceived == 4)
            #expect(metrics.totalEventsSent == 20)
            for client in clients { client.close() }
        }
    }

    @Test func aTopicWithOnlyEngineStreamsIsNeverParsedOrEncodedTwice() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(redis: redis)
            let publisher = try await TestPublisher.connect(redis)
            defer { publisher.close() }
            let first = try await SSETestClient.open(port: node.port, path: "/sse?topic=news&dialect=engine")
            let second = try await SSETestClient.open(port: node.port, path: "/sse?topic=news")
            let htmx = try await SSETestClient.open(port: node.port, path: "/sse?topic=other&dialect=htmx")
            for client in [first, second, htmx] { try await client.waitUntilConnected() }
            let id = try await publisher.publish("news", Self.patch)
            try await first.waitForEvents(1)
            try await second.waitForEvents(1)
            #expect(first.events == [.init(id: id, event: nil, data: Self.patch)])
            #expect(second.events == first.events)
            let encodes = try await node.metrics().dialectEncodes
            #expect(encodes == ["engine": 1, "htmx": 0, "datastar": 0, "turbo": 0])
            #expect(htmx.events.isEmpty)
            for client in [first, second, htmx] { client.close() }
        }
    }

    @Test func anUnknownDialectIsRefusedWithTheValidNames() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(redis: redis)
            for (query, shown) in [
                ("dialect=HTMX", "HTMX"), ("dialect=", ""), ("dialect=hotwire&dialect=htmx", "hotwire"),
            ] {
                let response = try await HTTPProbe.get(port: node.port, path: "/sse?topic=a&\(query)")
                #expect(response.status == 400, "\(query)")
                #expect(
                    response.body == "dialect \"\(shown)\" is unknown: use engine, htmx, datastar or turbo\n",
                    "\(query)")
            }
            let metrics = try await node.metrics()
            #expect(metrics.rejectedStreamRequests == 3)
        }
    }

    @Test func replayAndBackfillAfterARedisReconnectSpeakTheStreamsDialect() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(redis: redis)
            let publisher = try await TestPublisher.connect(redis)
            defer { publisher.close() }
            let start = try await publisher.publish("board", "before")
            let missed = try await publisher.publish("board", #"{"html":{"a":"<p>missed</p>"}}"#)

            // Replay: both streams resume after `start` and get `missed` in their dialect.
            let htmx = try await SSETestClient.open(
                port: node.port, path: "/sse?topic=board&dialect=htmx", headers: [("Last-Event-ID", start)])
            let datastar = try await SSETestClient.open(
                port: node.port, path: "/sse?topic=board&dialect=datastar&lastEventId=\(start)")
            try await htmx.waitForEvents(1)
            try await datastar.waitForEvents(1)

            // Live, so the node has a last relayed id to backfill from.
            let live = try await publisher.publish("board", #"{"html":{"a":"<p>live</p>"}}"#)
            try await htmx.waitForEvents(2)
            try await datastar.waitForEvents(2)

            // The node's subscription is killed while the node is frozen: what is published meanwhile reaches it
            // only through the backfill after it reconnects.
            node.signal(SIGSTOP)
            try await publisher.connection.send("CLIENT", "KILL", "TYPE", "pubsub")
            let backfilled = try await publisher.publish("board", #"{"js":{"seen":true}}"#)
            node.signal(SIGCONT)
            try await htmx.waitForEvents(3)
            try await datastar.waitForEvents(3)

            #expect(
                try Self.frames(htmx, port: node.port)
                    == "id: \(missed)\nevent: a\ndata: <p>missed</p>\n\n"
                    + "id: \(live)\nevent: a\ndata: <p>live</p>\n\n"
                    + "id: \(backfilled)\nevent: sse-script\ndata: <script>document.currentScript.remove();\n"
                    + "data: window[\"seen\"] = true;\ndata: </script>\n\n")
            #expect(
                try Self.frames(datastar, port: node.port)
                    == "event: datastar-patch-elements\nid: \(missed)\ndata: selector #a\ndata: mode inner\n"
                    + "data: elements <p>missed</p>\n\n"
                    + "event: datastar-patch-elements\nid: \(live)\ndata: selector #a\ndata: mode inner\n"
                    + "data: elements <p>live</p>\n\n"
                    + "event: datastar-patch-signals\nid: \(backfilled)\ndata: signals {\"seen\":true}\n\n")
            let metrics = try await node.metrics()
            #expect(metrics.replayedEvents == 2)
            let redisFigures = metrics.redis
            #expect(redisFigures.backfilledEvents == 1)
            #expect(redisFigures.reconnects == 1)
            htmx.close()
            datastar.close()
        }
    }
}
