import Foundation
import LocalRedis
import RedisClient
import SSETestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Operating the publisher: probes, Redis trouble, engine.js, shutdown (real processes)")
struct PublisherOperationsTests {
    @Test func probesReportRedisAndTheFunctionLibraries() async throws {
        try await BoardStack.with { stack in
            let port = stack.publisher.port
            let alive = try await HTTPProbe.get(port: port, path: "/healthz")
            #expect(alive.status == 200)
            #expect(alive.body == "ok\n")
            let ready = try await HTTPProbe.get(port: port, path: "/readyz")
            #expect(ready.status == 200)
            #expect(ready.body == "ready\n")

            // The publisher reloads a lost library within a second by itself; while Redis refuses FUNCTION LOAD it
            // cannot, so the probe reports the missing library for as long as that lasts.
            try await stack.connection.send("ACL", "SETUSER", "default", "-function|load")
            try await stack.connection.send("FUNCTION", "DELETE", "board")
            let missing = try await HTTPProbe.get(port: port, path: "/readyz")
            #expect(missing.status == 503)
            #expect(missing.header("Retry-After") == "1")
            #expect(missing.body == "not ready: Redis function library \"board\" is not loaded\n")
            try await stack.connection.send("ACL", "SETUSER", "default", "+function|load")
            try await waitUntil("the library is reloaded without traffic") {
                (try? await HTTPProbe.get(port: port, path: "/readyz"))?.status == 200
            }
            // Both libraries gone: the next post loads them again (inside and outside the publish transaction).
            try await stack.connection.send("FUNCTION", "FLUSH")
            let client = try await stack.openBoardStream()
            defer { client.close() }
            let post = try await stack.publisher.postForm("/add_post", [("text", "after a flush")])
            #expect(post.status == 303)
            try await client.waitForEvents(3)
            #expect(client.events[1].data == #"{"js":{"postCount":1}}"#)
            #expect((try await HTTPProbe.get(port: port, path: "/readyz")).status == 200)

            stack.redis.kill()
            let down = try await HTTPProbe.get(port: port, path: "/readyz")
            #expect(down.status == 503)
            #expect(
                down.body.hasPrefix(
                    "not ready: Redis unavailable: cannot connect to Redis at 127.0.0.1:\(stack.redis.port)"))
            #expect((try await HTTPProbe.get(port: port, path: "/healthz")).status == 200)
            let page = try await HTTPProbe.get(port: port, path: "/")
            #expect(page.status == 503)
            #expect(page.header("Retry-After") == "1")
            #expect(page.body.hasPrefix("Redis unavailable: cannot connect to Redis at 127.0.0.1:\(stack.redis.port)"))
        }
    }

    @Test func aHungRedisIsAnswered503WithinTheRedisTimeoutAndRecovers() async throws {
        try await BoardStack.with(publisherArguments: ["--redis-timeout", "0.5"]) { stack in
            let port = stack.publisher.port
            #expect((try await HTTPProbe.get(port: port, path: "/")).status == 200)
            stack.redis.pause()
            let started = ContinuousClock.now
            let page = try await HTTPProbe.get(port: port, path: "/")
            let post = try await stack.publisher.postForm("/add_post", [("text", "while paused")])
            let elapsed = ContinuousClock.now - started
            stack.redis.resume()
            #expect(page.status == 503)
            #expect(
                page.body
                    == "Redis unavailable: Redis at 127.0.0.1:\(stack.redis.port) did not answer board_read within 500 ms\n"
            )
            #expect(post.status == 503)
            // The timed-out read closed the shared connection, so the post either connects and waits (no answer to
            // board_add) or cannot connect in time: both within the 0.5 s limit, both 503.
            #expect(
                post.body
                    == "Redis unavailable: Redis at 127.0.0.1:\(stack.redis.port) did not answer board_add within 500 ms\n"
                    || post.body
                        == "Redis unavailable: cannot connect to Redis at 127.0.0.1:\(stack.redis.port): timed out after 500 ms\n"
            )
            #expect(elapsed < .seconds(3))
            try await waitUntil("the page answering again") {
                (try await HTTPProbe.get(port: port, path: "/")).status == 200
            }
        }
    }

    @Test func engineScriptIsServedWithTypeValidatorsAndCacheHeaders() async throws {
        try await BoardStack.with { stack in
            let port = stack.publisher.port
            let page = try await HTTPProbe.get(port: port, path: "/")
            let marker = #"<script src="/engine.js?v="#
            let range = try #require(page.body.range(of: marker))
            let version = String(page.body[range.upperBound...].prefix { $0 != "\"" })
            #expect(version.count == 16)

            let pinned = try await HTTPProbe.get(port: port, path: "/engine.js?v=\(version)")
            #expect(pinned.status == 200)
            #expect(pinned.header("Content-Type") == "text/javascript; charset=utf-8")
            #expect(pinned.header("Cache-Control") == "public, max-age=31536000, immutable")
            #expect(pinned.header("ETag") == "\"\(version)\"")
            #expect(pinned.body.contains("new this.win.EventSource(streamURL("))
            let plain = try await HTTPProbe.get(port: port, path: "/engine.js")
            #expect(plain.header("Cache-Control") == "public, max-age=300")
            #expect(plain.body == pinned.body)
            let revalidated = try await HTTPProbe.get(
                port: port, path: "/engine.js", headers: [("If-None-Match", "\"\(version)\"")])
            #expect(revalidated.status == 304)
            #expect(revalidated.body == "")
            let head = try await HTTPProbe.get(port: port, path: "/engine.js", method: "HEAD")
            #expect(head.status == 200)
            #expect(head.header("Content-Length") == String(pinned.body.utf8.count))
            #expect(head.body == "")

            let unknown = try await HTTPProbe.get(port: port, path: "/nope")
            #expect(unknown.status == 404)
            #expect(unknown.body == "no route for \"/nope\": try / (the board), POST /publish or /healthz\n")
        }
    }

    @Test func sigtermStopsTheServiceCleanly() async throws {
        try await withLocalRedis { redis in
            let publisher = try await PublisherProcess.start(
                redis: redis, environment: ["SSE_PUBLISH_TOKEN": "hidden-value"])
            publisher.signal(SIGTERM)
            #expect(await publisher.exit(within: .seconds(10)) == 0)
            #expect(publisher.log.contains("stopped"))
            #expect(!publisher.log.contains("hidden-value"))
        }
    }

    @Test func aSettingThatDoesNotParseStopsTheProcessWithOneLine() async throws {
        for (environment, arguments, message) in [
            (["SSE_PORT": "abc"], [String](), #"SSE_PORT="abc" is invalid: expected a port number"#),
            (["SSE_BOARD_LENGTH": "0"], [], "board length 0 is invalid: expected 1–1000 posts"),
            (
                [:], ["--sse-url", "ftp://x"],
                #"public SSE URL "ftp://x" is invalid: expected http://…, https://…, a path or nothing"#
            ),
            ([:], ["--heartbeat", "0"], "heartbeat 0.0 is invalid: expected a positive number of seconds"),
        ] {
            let result = try await runProgram(
                PublisherProcess.executable, arguments, environment: environment, timeout: .seconds(30))
            let output = result.output
            #expect(result.status != 0, "\(environment) \(arguments)")
            #expect(output.contains(message), "\(output)")
        }
    }
}
