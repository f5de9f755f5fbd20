import Foundation
import LocalRedis
import NIOCore
import SSETestSupport
import Testing

/// Issue 12, findings 8 and 10 (publisher): a body trickled one byte at a time kept a request open for minutes (the
/// idle timeout restarts on every byte), and an HTTP/1.1 request without `Host`, or with two, got 200.
@Suite("The publisher's request deadline, body bound and Host rule (real processes)")
struct RequestLimitsTests {
    /// Opens a connection, sends `head`, then each of `pieces` after `pause`, stopping once the server has closed;
    /// returns the client once closed, and how many pieces were sent before that.
    @discardableResult
    static func trickle(
        port: Int, head: String, pieces: [String], pause: Duration, until: Duration = .seconds(15)
    ) async throws -> (client: SSETestClient, sent: Int) {
        let client = try await SSETestClient.open(port: port, path: "", rawRequest: head)
        var sent = 0
        for piece in pieces {
            try await Task.sleep(for: pause)
            if client.isClosed { break }
            try? await client.channel.writeAndFlush(ByteBuffer(string: piece)).get()
            sent += 1
        }
        try await waitUntil("the answer to a trickled request", timeout: until) { client.isClosed }
        return (client, sent)
    }

    static func body(_ client: SSETestClient) -> String { String(decoding: client.body, as: UTF8.self) }

    @Test func aTrickledBodyIsCutAtTheDeadlineWith408AndASlowButTimelyOneWorks() async throws {
        // A 3 s deadline: the timely trickle below takes about 1.2 s, with room for a loaded machine.
        try await BoardStack.with(publisherArguments: ["--request-deadline", "3"]) { stack in
            let port = stack.publisher.port
            let head =
                "POST /add_post HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
                + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 40\r\n\r\ntext="
            // Cut by the deadline: not before it, and while the trickle (30 × 0.4 s = 12 s) still had pieces to
            // send (about 7 are sent on a quiet machine). The count, not a clock, bounds it above: a starved test task
            // sends fewer pieces, not more; a starved server cuts later, so the bound leaves it room.
            let started = ContinuousClock.now
            let (cut, sent) = try await Self.trickle(
                port: port, head: head, pieces: Array(repeating: "a", count: 30), pause: .milliseconds(400))
            let elapsed = ContinuousClock.now - started
            #expect(cut.status == 408)
            #expect(cut.header("Connection") == "close")
            #expect(Self.body(cut) == "request not complete within 3 s: send the whole request in time\n")
            #expect(elapsed >= .milliseconds(2900))
            #expect(sent <= 20, "pieces sent before the cut: \(sent)")

            // No body at all after the head: the same deadline.
            let silent = try await Self.trickle(port: port, head: head, pieces: [], pause: .zero).client
            #expect(silent.status == 408)
            // A head that never ends is cut too (no answer can be framed before the head, so just closed), while the
            // trickle (20 × 0.3 s = 6 s) still had header lines to send.
            let (endless, headerLines) = try await Self.trickle(
                port: port, head: "GET / HTTP/1.1\r\nHost: x\r\n", pieces: Array(repeating: "X-A: b\r\n", count: 20),
                pause: .milliseconds(300))
            #expect(headerLines <= 15, "header lines sent before the cut: \(headerLines)")
            #expect(endless.status == nil || endless.status == 408)

            // 16 bytes in four pieces over about 1.2 s: inside the deadline, so the post goes through.
            let timely = try await Self.trickle(
                port: port,
                head: head.replacingOccurrences(of: "Content-Length: 40", with: "Content-Length: 21")
                    .replacingOccurrences(of: "\r\n\r\ntext=", with: "\r\nConnection: close\r\n\r\ntext="),
                pieces: ["slow", " but", " in t", "ime"], pause: .milliseconds(300)
            ).client
            #expect(timely.status == 303)
            #expect(try await stack.stats()["posts"] == "1")
        }
    }

    @Test func theDeadlineIsPerRequestOnAKeptAliveConnection() async throws {
        try await BoardStack.with(publisherArguments: ["--request-deadline", "1"]) { stack in
            let port = stack.publisher.port
            let request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            let client = try await SSETestClient.open(port: port, path: "", rawRequest: request)
            defer { client.close() }
            try await waitUntil("the first answer") { Self.body(client).hasSuffix("ok\n") }
            // Idle between requests for longer than the deadline: only the idle timeout applies there.
            try await Task.sleep(for: .milliseconds(1500))
            #expect(!client.isClosed)
            try await client.channel.writeAndFlush(ByteBuffer(string: request)).get()
            try await waitUntil("the second answer") {
                String(decoding: client.rawBody, as: UTF8.self).components(separatedBy: "ok\n").count == 3
            }
        }
    }

    @Test func aBodyOverTheLargestLimitIsRefusedWith413OnAnyRoute() async throws {
        try await BoardStack.with { stack in
            let port = stack.publisher.port
            // /healthz answers without reading the body: its 200 comes before any of the body is sent (sent at once,
            // the body could pass the limit before the route ran, and a 413 would be as right). Then the rest of the
            // 10 MB body is not read: the connection closes.
            let get = try await SSETestClient.open(
                port: port, path: "",
                rawRequest: "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n")
            try await waitUntil("the answer to the head alone") { get.status != nil }
            #expect(get.status == 200)
            for _ in 0..<16 where !get.isClosed {
                try? await get.channel.writeAndFlush(ByteBuffer(repeating: UInt8(ascii: "a"), count: 8192)).get()
            }
            try await waitUntil("the connection closed after 64 KiB of an unread body", timeout: .seconds(5)) {
                get.isClosed
            }
            let chunked = try await HTTPProbe.send(
                port: port,
                raw: "POST /datastar-sdk-test HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + (0..<20).map { _ in "1000\r\n" + String(repeating: "b", count: 4096) + "\r\n" }.joined())
            #expect(chunked.status == 413)
            #expect((try await HTTPProbe.get(port: port, path: "/healthz")).status == 200)
        }
    }

    @Test func anHTTP11RequestNeedsExactlyOneHost() async throws {
        try await BoardStack.with { stack in
            let port = stack.publisher.port
            let missing = try await HTTPProbe.send(
                port: port, raw: "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
            #expect(missing.status == 400)
            #expect(missing.header("Connection") == "close")
            #expect(missing.body == "missing Host header: an HTTP/1.1 request must have exactly one\n")
            let twice = try await HTTPProbe.send(
                port: port, raw: "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n")
            #expect(twice.status == 400)
            #expect(twice.body == "2 Host headers: a request must have exactly one\n")
            let post = try await HTTPProbe.send(
                port: port,
                raw: "POST /add_post HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                    + "Content-Length: 6\r\n\r\ntext=x")
            #expect(post.status == 400)
            #expect(try await stack.stats() == [:])

            // HTTP/1.0 has no Host requirement; one Host is fine in both.
            let old = try await HTTPProbe.send(port: port, raw: "GET /healthz HTTP/1.0\r\nConnection: close\r\n\r\n")
            #expect(old.status == 200)
            #expect(old.body == "ok\n")
            let oldTwice = try await HTTPProbe.send(
                port: port, raw: "GET /healthz HTTP/1.0\r\nHost: a\r\nHost: a\r\nConnection: close\r\n\r\n")
            #expect(oldTwice.status == 400)
            #expect((try await HTTPProbe.get(port: port, path: "/healthz")).status == 200)
        }
    }
}
