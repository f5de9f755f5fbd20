import Foundation
import LocalRedis
import SSETestSupport
import Testing

/// `/add_post` limited per client address (issue 14, point 9), against a real publisher: each kind of client gets
/// its 429 where it shows errors, with `Retry-After`, and nothing is stored. The test (127.0.0.1) is the trusted
/// proxy, so `X-Forwarded-For` stands for other visitors.
@Suite("Posts limited per client address (real processes)")
struct PostRateLimitTests {
    /// 0.6 posts a minute: a token comes back only after 100 s, so no refill happens during a test.
    static let arguments = ["--trusted-proxy", "127.0.0.1", "--post-rate", "0.6", "--post-burst", "2"]

    static func message(_ client: String, retryAfter: Int) -> String {
        "too many posts from \(client): at most 0.6 per minute; try again in \(retryAfter) s"
    }

    @Test func postsOverTheBurstGet429WhereEachClientShowsErrors() async throws {
        try await BoardStack.with(publisherArguments: Self.arguments) { stack in
            let publisher = stack.publisher
            let visitor = [("X-Forwarded-For", "192.0.2.1")]
            for index in 1...2 {
                let post = try await publisher.postForm("/add_post", [("text", "post \(index)")], headers: visitor)
                #expect(post.status == 303)
            }

            // The plain form: the page again, with what was typed and the message in its error list.
            let page = try await publisher.postForm(
                "/add_post", [("author", "Ada"), ("text", "one too many")], headers: visitor)
            #expect(page.status == 429)
            let retryAfter = try #require(page.header("Retry-After").flatMap { Int($0) })
            #expect((95...100).contains(retryAfter), "a token comes back 100 s after the burst: \(retryAfter)")
            #expect(page.header("Content-Type") == "text/html; charset=utf-8")
            let item = "<li data-field=\"form\">\(Self.message("192.0.2.1", retryAfter: retryAfter))</li>"
            #expect(page.body.contains("<ul id=\"post-errors\" class=\"errors\" data-errors>\(item)</ul>"))
            #expect(page.body.contains(">one too many</textarea>"))
            #expect(page.body.contains("value=\"Ada\""))

            // htmx: the error list alone, retargeted over the old one.
            let htmx = try await publisher.postForm(
                "/add_post", [("text", "again")], headers: visitor + [("HX-Request", "true")])
            #expect(htmx.status == 429)
            #expect(htmx.header("HX-Retarget") == "#post-errors")
            #expect(htmx.header("HX-Reswap") == "outerHTML")
            let htmxWait = try #require(htmx.header("Retry-After").flatMap { Int($0) })
            #expect(
                htmx.body
                    == "<ul id=\"post-errors\" class=\"errors\" data-errors><li data-field=\"form\">"
                    + "\(Self.message("192.0.2.1", retryAfter: htmxWait))</li></ul>")

            // engine.js: one line of text, which it shows as a message in the list.
            let engine = try await publisher.postForm(
                "/add_post", [("text", "again")], headers: visitor + [("X-Engine-Request", "1")])
            #expect(engine.status == 429)
            #expect(engine.header("Content-Type") == "text/plain; charset=utf-8")
            let engineWait = try #require(engine.header("Retry-After").flatMap { Int($0) })
            #expect(engine.body == Self.message("192.0.2.1", retryAfter: engineWait) + "\n")

            // An invalid post spends nothing and is still told what is wrong with it.
            let invalid = try await publisher.postForm(
                "/add_post", [("text", "")], headers: visitor + [("X-Engine-Request", "1")])
            #expect(invalid.status == 422)

            // Another visitor, and a spoofed leftmost entry that does not help the first one.
            let other = try await publisher.postForm(
                "/add_post", [("text", "someone else")], headers: [("X-Forwarded-For", "192.0.2.2")])
            #expect(other.status == 303)
            let spoofed = try await publisher.postForm(
                "/add_post", [("text", "spoofed")], headers: [("X-Forwarded-For", "192.0.2.99, 192.0.2.1")])
            #expect(spoofed.status == 429)

            #expect(try await stack.stats() == ["version": "3", "posts": "3"])
            let metrics = try await HTTPProbe.get(port: publisher.port, path: "/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
            #expect(
                metrics.body
                    == "# HELP sse_publisher_limit_refusals_total Requests refused with 429 by a limit per client "
                    + "address.\n# TYPE sse_publisher_limit_refusals_total counter\n"
                    + "sse_publisher_limit_refusals_total{limit=\"post_rate\"} 4\n"
                    + "sse_publisher_limit_refusals_total{limit=\"token_rate\"} 0\n"
                    + "# HELP sse_publisher_lost_events_total Acknowledged events found lost after a Redis failover "
                    + "(each marked with a resync event on its topic).\n"
                    + "# TYPE sse_publisher_lost_events_total counter\nsse_publisher_lost_events_total 0\n")
        }
    }

    /// Without the peer among the trusted proxies, `X-Forwarded-For` is ignored: every visitor is 127.0.0.1.
    @Test func theHeaderOfAnUntrustedPeerIsIgnored() async throws {
        try await BoardStack.with(publisherArguments: ["--post-rate", "0.6", "--post-burst", "1"]) { stack in
            let first = try await stack.publisher.postForm(
                "/add_post", [("text", "first")], headers: [("X-Forwarded-For", "192.0.2.1")])
            #expect(first.status == 303)
            let second = try await stack.publisher.postForm(
                "/add_post", [("text", "second")],
                headers: [("X-Forwarded-For", "192.0.2.2"), ("X-Engine-Request", "1")])
            #expect(second.status == 429)
            let wait = try #require(second.header("Retry-After").flatMap { Int($0) })
            #expect(second.body == Self.message("127.0.0.1", retryAfter: wait) + "\n")
        }
    }

    @Test func badLimitSettingsStopThePublisherWithOneLine() async throws {
        let result = try await runProgram(
            PublisherProcess.executable, ["--post-rate", "5", "--post-burst", "0", "--port", "0"])
        #expect(result.status != 0)
        #expect(
            result.output.contains(
                "post rate 5.0 per minute, burst 0 is invalid: expected a rate of 0 (no limit) or more, and a burst of "
                    + "at least 1 when posts are limited"),
            "\(result.output)")
        let proxy = try await runProgram(PublisherProcess.executable, ["--trusted-proxy", "10.0.0.0/40"])
        #expect(proxy.status != 0)
        #expect(
            proxy.output.contains(
                "SSE_TRUSTED_PROXIES entry \"10.0.0.0/40\" is invalid: expected an IP address or a CIDR such as "
                    + "127.0.0.1, ::1 or 10.0.0.0/8"),
            "\(proxy.output)")
    }
}
