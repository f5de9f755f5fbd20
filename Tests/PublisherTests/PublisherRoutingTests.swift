import Testing

/// The conventions of the publisher's routes on Hummingbird's `Router` (``PublisherRouter``), checked in process
/// against a Redis nothing listens on: `HEAD` beside every `GET`, 405 with `Allow` for a known path, a one-line 404
/// for an unknown one, and failures as one line (headers only for `HEAD`).
@Suite("Publisher routing: HEAD, 404, 405 and one-line failures")
struct PublisherRoutingTests {
    static let configuration = InProcessPublisher.configuration(redisURL: InProcessPublisher.unreachableRedisURL)

    @Test func headAnswersAGetRouteWithItsHeadersAndNoBody() async throws {
        try await InProcessPublisher.with(Self.configuration) { publisher in
            let get = try await publisher.get("/healthz")
            #expect(get.status == 200)
            #expect(get.body == "ok\n")
            let head = try await publisher.send("HEAD", "/healthz")
            #expect(head.status == 200)
            #expect(head.body == "")
            #expect(head.header("Content-Length") == "3")
            #expect(head.header("Content-Type") == "text/plain; charset=utf-8")
            #expect(head.header("Cache-Control") == "no-store")

            let script = try await publisher.get("/engine.js")
            let scriptHead = try await publisher.send("HEAD", "/engine.js")
            #expect(scriptHead.status == 200)
            #expect(scriptHead.body == "")
            #expect(scriptHead.header("Content-Length") == "\(script.body.utf8.count)")
            #expect(scriptHead.header("ETag") == script.header("ETag"))
        }
    }

    @Test func aKnownPathAskedWithAnotherMethodGets405NamingTheAllowedOnes() async throws {
        try await InProcessPublisher.with(Self.configuration) { publisher in
            let delete = try await publisher.send("DELETE", "/datastar-sdk-test")
            #expect(delete.status == 405)
            #expect(delete.header("Allow") == "GET, HEAD, POST")
            #expect(delete.body == "DELETE not allowed on /datastar-sdk-test: use GET, HEAD, POST\n")

            let post = try await publisher.send("POST", "/healthz")
            #expect(post.status == 405)
            #expect(post.header("Allow") == "GET, HEAD")
            #expect(post.body == "POST not allowed on /healthz: use GET, HEAD\n")

            let head = try await publisher.send("HEAD", "/publish")
            #expect(head.status == 405)
            #expect(head.header("Allow") == "POST")
            #expect(head.body == "")
        }
    }

    @Test func anUnknownPathGetsOneLineNamingTheEntryPoints() async throws {
        try await InProcessPublisher.with(Self.configuration) { publisher in
            let unknown = try await publisher.get("/nope")
            #expect(unknown.status == 404)
            #expect(unknown.header("Content-Type") == "text/plain; charset=utf-8")
            #expect(unknown.body == "no route for \"/nope\": try / (the board), POST /publish or /healthz\n")
            let head = try await publisher.send("HEAD", "/nope")
            #expect(head.status == 404)
            #expect(head.body == "")
        }
    }

    @Test func aFailingGetRouteAnswersHeadWithTheFailuresHeadersOnly() async throws {
        try await InProcessPublisher.with(Self.configuration) { publisher in
            // No Redis: the board page fails with 503 and Retry-After.
            let get = try await publisher.get("/")
            #expect(get.status == 503)
            #expect(get.header("Retry-After") == "1")
            #expect(get.body.hasPrefix("Redis unavailable: "))
            let head = try await publisher.send("HEAD", "/")
            #expect(head.status == 503)
            #expect(head.header("Retry-After") == "1")
            #expect(head.header("Content-Length") == "\(get.body.utf8.count)")
            #expect(head.body == "")
        }
    }
}
