import Foundation
import Gateway
import LocalRedis
import RedisClient
import SSEProtocol
import SSETestSupport
import Testing

@Suite("Gateway subscriber link probes (real redis-server and sse-gateway processes)")
struct GatewayLinkProbeTests {
    /// Probes every 400 ms (so a 1.2 s timeout): `/sse-metrics` and `/metrics` show the link and its probes, the hub
    /// never sees a probe, and while Redis is frozen (SIGSTOP: its sockets stay open, nothing is delivered) the node
    /// is not ready, naming the link, until the link is back and a probe has come back on it.
    @Test func metricsShowTheLinkAndReadinessNamesItWhileItDoesNotDeliver() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(redis: redis, arguments: ["--redis-probe-interval-ms", "400"])
            let address = redis.configuration.address
            try await waitUntil("five probes back") {
                let links = try await node.metrics().redis.links
                return links.count == 1 && links[0].probesSent >= 5 && links[0].lastProbeMilliseconds != nil
            }
            let metrics = try await node.metrics()
            let link = metrics.redis.links[0]
            #expect(link.address == address)
            #expect(link.up)
            #expect(link.probeFailures == 0)
            #expect(!link.lastProbeFailed)
            #expect(link.messagesReceived == 0)
            let probeChannel = try #require(link.probeChannel)
            #expect(probeChannel.hasPrefix("sse:probe:"))
            #expect(Topic(channel: probeChannel) == nil)
            // No probe reached the node hub.
            #expect(metrics.messagesReceived == 0)
            #expect(metrics.ready)

            let prometheus = try await HTTPProbe.get(port: node.port, path: "/metrics").body
            let labels = "{node=\"test-\(node.port)\",address=\"\(address)\"}"
            for line in ["sse_redis_link_up\(labels) 1.0", "sse_redis_link_probe_failures_total\(labels) 0"] {
                #expect(prometheus.contains(line + "\n"), "missing \(line) in:\n\(prometheus)")
            }
            #expect(prometheus.contains("sse_redis_link_probe_seconds\(labels) "))
            #expect(try await HTTPProbe.get(port: node.port, path: "/readyz").body == "ready\n")

            // Counted from here: a loaded machine may, rarely, delay a healthy probe past its timeout.
            let failedBefore = try await node.metrics().redis.links[0].probeFailures
            let reconnectsBefore = try await node.metrics().redis.reconnects
            redis.pause()
            do {
                try await waitUntil("not ready, naming the link", timeout: .seconds(5)) {
                    let ready = try await HTTPProbe.get(port: node.port, path: "/readyz")
                    return ready.status == 503 && ready.body == "not ready: Redis link \(address) is down\n"
                }
                let down = try await node.metrics()
                #expect(!down.ready)
                #expect(down.redis.links.map(\.up) == [false])
                #expect(down.redis.links.map(\.probeFailures) == [failedBefore + 1])
                let refused = try await HTTPProbe.get(port: node.port, path: "/sse?topic=calm")
                #expect(refused.status == 503)
                let text = try await HTTPProbe.get(port: node.port, path: "/metrics").body
                #expect(text.contains("sse_redis_link_up\(labels) 0.0\n"))
                #expect(text.contains("sse_redis_link_probe_failures_total\(labels) \(failedBefore + 1)\n"))
            } catch {
                redis.resume()
                throw error
            }
            redis.resume()

            try await waitUntil("ready again", timeout: .seconds(15)) {
                try await HTTPProbe.get(port: node.port, path: "/readyz").status == 200
            }
            let after = try await node.metrics()
            #expect(after.redis.links.map(\.up) == [true])
            #expect(after.redis.links.map(\.lastProbeFailed) == [false])
            #expect(after.redis.links.map(\.probeFailures) == [failedBefore + 1])
            #expect(after.redis.reconnects == reconnectsBefore + 1)
            #expect(after.redis.connected)
        }
    }

    @Test func probingCanBeTurnedOff() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(redis: redis, arguments: ["--redis-probe-interval-ms", "0"])
            let links = try await node.metrics().redis.links
            #expect(links.count == 1)
            #expect(links.first?.up == true)
            #expect(links.first?.probesSent == 0)
            #expect(links.first?.probeChannel == nil)
        }
    }
}
