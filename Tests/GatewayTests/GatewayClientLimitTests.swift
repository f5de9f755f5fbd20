import Foundation
import Gateway
import LocalRedis
import RedisClient
import SSETestSupport
import Testing

/// The limits per client address on `GET /sse` (issue 14, point 9), against a real node: open streams per address
/// and new streams per second per address, each answered 429 with `Retry-After` and one line, and counted in both
/// metrics documents. The test itself (127.0.0.1) is the trusted proxy, so `X-Forwarded-For` stands for other
/// clients.
@Suite("Gateway limits per client address (real redis-server and sse-gateway)")
struct GatewayClientLimitTests {
    /// Opens a stream as `client` (through the trusted 127.0.0.1) and waits for its status.
    static func open(_ port: Int, as client: String?, topic: String = "limits") async throws -> SSETestClient {
        let stream = try await SSETestClient.open(
            port: port, path: "/sse?topic=\(topic)", headers: client.map { [("X-Forwarded-For", $0)] } ?? [])
        try await waitUntil("the stream's status") { stream.status != nil }
        return stream
    }

    static func body(_ stream: SSETestClient) async throws -> String {
        try await waitUntil("the refusal's body complete") { stream.isClosed }
        return String(decoding: stream.body, as: UTF8.self)
    }

    @Test func aThirdStreamFromOneAddressIsRefusedWhileOtherAddressesAreAdmitted() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(
                redis: redis,
                arguments: [
                    "--trusted-proxy", "127.0.0.1", "--trusted-proxy", "10.0.0.0/8", "--max-streams-per-client", "2",
                    "--new-streams-per-second", "0",
                ])
            let first = try await Self.open(node.port, as: "192.0.2.1")
            let second = try await Self.open(node.port, as: "192.0.2.1, 10.1.1.1")
            #expect([first.status, second.status] == [200, 200])

            let third = try await Self.open(node.port, as: "192.0.2.1")
            #expect(third.status == 429)
            #expect(third.header("Retry-After") == "5")
            #expect(third.header("Content-Type") == "text/plain; charset=utf-8")
            #expect(try await Self.body(third) == "too many open streams from 192.0.2.1: at most 2 per client\n")
            // A spoofed leftmost entry does not escape the limit: the client is the rightmost untrusted entry.
            let spoofed = try await Self.open(node.port, as: "198.51.100.77, 192.0.2.1")
            #expect(spoofed.status == 429)
            #expect(try await Self.body(spoofed) == "too many open streams from 192.0.2.1: at most 2 per client\n")

            // Another address is its own client.
            let other = try await Self.open(node.port, as: "192.0.2.2")
            #expect(other.status == 200)
            try await other.waitUntilConnected()

            // Once one of the first two closes, 192.0.2.1 may open one more. The release follows the close, so
            // the test polls; each refusal it sees is counted, so the metrics below stay exact.
            first.close()
            var refusedWhilePolling = 0
            var admitted: SSETestClient?
            try await waitUntil("a new stream from 192.0.2.1 is admitted", timeout: .seconds(15)) {
                let attempt = try await Self.open(node.port, as: "192.0.2.1")
                guard attempt.status == 200 else {
                    refusedWhilePolling += 1
                    attempt.close()
                    return false
                }
                admitted = attempt
                return true
            }
            let again = try #require(admitted)
            try await again.waitUntilConnected()

            let metrics = try await node.metrics()
            #expect(
                metrics.limitRefusals == ["streams_per_client": 2 + refusedWhilePolling, "new_streams_per_second": 0])
            #expect(metrics.activeConnections == 3)
            #expect(metrics.connectionsTotal == 4)
            #expect(metrics.rejectedStreamRequests == 2 + refusedWhilePolling)
            let prometheus = try await HTTPProbe.get(port: node.port, path: "/metrics").body
            let label = "node=\"test-\(node.port)\""
            #expect(
                prometheus.contains(
                    "sse_limit_refusals_total{limit=\"streams_per_client\",\(label)} \(2 + refusedWhilePolling)\n")
                    || prometheus.contains(
                        "sse_limit_refusals_total{\(label),limit=\"streams_per_client\"} \(2 + refusedWhilePolling)\n"),
                "\(prometheus)")
            for stream in [second, other, again] { stream.close() }
        }
    }

    /// Without `--trusted-proxy` naming it, the peer's `X-Forwarded-For` is ignored: every request from 127.0.0.1
    /// counts against 127.0.0.1, whatever address it claims.
    @Test func theHeaderOfAnUntrustedPeerIsIgnored() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(
                redis: redis,
                arguments: [
                    "--trusted-proxy", "10.0.0.0/8", "--max-streams-per-client", "1", "--new-streams-per-second", "0",
                ])
            let first = try await Self.open(node.port, as: "192.0.2.1")
            #expect(first.status == 200)
            let claimed = try await Self.open(node.port, as: "192.0.2.2")
            #expect(claimed.status == 429)
            #expect(try await Self.body(claimed) == "too many open streams from 127.0.0.1: at most 1 per client\n")
            let plain = try await Self.open(node.port, as: nil)
            #expect(plain.status == 429)
            #expect(try await node.metrics().limitRefusals["streams_per_client"] == 2)
            first.close()
        }
    }

    /// A burst of 3 at 0.2 streams a second: three at once, the fourth refused (one token comes back only after
    /// 5 s, far longer than the three opens take), then admitted once the bucket refilled.
    @Test func newStreamsGetTheirBurstThenARefusalThenAdmissionAfterTheRefill() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(
                redis: redis,
                arguments: [
                    "--trusted-proxy", "127.0.0.1", "--max-streams-per-client", "0", "--new-streams-per-second", "0.2",
                    "--new-streams-burst", "3",
                ])
            var streams: [SSETestClient] = []
            // Before the first stream takes a token: the bucket cannot have one back until 5 s after that.
            let burstStarted = ContinuousClock.now
            for _ in 0..<3 { streams.append(try await Self.open(node.port, as: "203.0.113.9")) }
            #expect(streams.map(\.status) == [200, 200, 200])

            let fourth = try await Self.open(node.port, as: "203.0.113.9")
            #expect(fourth.status == 429)
            let retryAfter = try #require(fourth.header("Retry-After").flatMap { Int($0) })
            #expect((1...5).contains(retryAfter), "a token comes back within 5 s: \(retryAfter)")
            #expect(try await Self.body(fourth) == "too many new streams from 203.0.113.9: at most 0.2 per second\n")
            // Another address has a bucket of its own.
            let other = try await Self.open(node.port, as: "203.0.113.10")
            #expect(other.status == 200)

            var refusedWhilePolling = 0
            var admitted: SSETestClient?
            try await waitUntil("a token came back", timeout: .seconds(20), every: .milliseconds(250)) {
                let attempt = try await Self.open(node.port, as: "203.0.113.9")
                guard attempt.status == 200 else {
                    refusedWhilePolling += 1
                    attempt.close()
                    return false
                }
                admitted = attempt
                return true
            }
            streams.append(try #require(admitted))
            // Admitted by the refill (one token per 5 s at 0.2/s), not earlier. (Whether a poll was refused first
            // depends on how soon a loaded machine polls, so the count is only checked against the metrics.)
            let waited = ContinuousClock.now - burstStarted
            #expect(waited >= .milliseconds(4900), "admitted \(waited) after the burst began")
            let metrics = try await node.metrics()
            #expect(
                metrics.limitRefusals == ["streams_per_client": 0, "new_streams_per_second": 1 + refusedWhilePolling])
            #expect(metrics.connectionsTotal == 5)
            for stream in streams + [other] { stream.close() }
        }
    }
}
