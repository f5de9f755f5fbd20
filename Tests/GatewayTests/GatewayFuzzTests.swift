import Foundation
import LocalRedis
import SSETestSupport
import Testing

/// The gateway's front door against 3,000 generated hostile requests from a fixed seed, while a stream carries
/// reliable events: each request is answered (below 500) or closed within its deadline, memory stays bounded, and
/// the stream receives every event, in order.
@Suite("Gateway front door fuzz (real redis-server and sse-gateway)")
struct GatewayFuzzTests {
    @Test func generatedHostileRequestsAreAnsweredOrClosedAndAStreamGoesOn() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(
                redis: redis, arguments: ["--request-timeout", "0.5", "--body-timeout", "0.3", "--log-level", "info"])
            let pid = try #require(node.child.processID)
            // The node's head timeout is short (0.5 s) so that truncated requests end quickly; on a loaded machine the
            // stream's own request may miss it, so it is opened again until it is connected.
            var opened: SSETestClient?
            for _ in 0..<10 where opened == nil {
                let attempt = try await SSETestClient.open(port: node.port, path: "/sse?topic=steady")
                try await waitUntil("the stream connects or closes") {
                    attempt.isClosed || attempt.comments.contains { $0.hasPrefix("connected to ") }
                }
                if !attempt.isClosed { opened = attempt }
            }
            let stream = try #require(opened, "the steady stream never connected")
            let publisher = try await TestPublisher.connect(redis)
            defer { publisher.close() }
            let before = try residentKilobytes(pid)
            let publishing = Task {
                var ids: [String] = []
                while !Task.isCancelled {
                    ids.append(try await publisher.publish("steady", "tick \(ids.count)"))
                    try? await Task.sleep(for: .milliseconds(20))
                }
                return ids
            }
            let requests = MalformedRequests(
                count: 3000, seed: 0x5EED_F00D,
                paths: ["/sse", "/sse-metrics", "/metrics", "/healthz", "/readyz", "/x"])
            let outcome = try await FrontDoorFuzz.run(port: node.port, requests: requests, deadline: .seconds(2))
            publishing.cancel()
            let ids = try await publishing.value
            #expect(
                outcome.failures.isEmpty, "\(outcome.failures.count) failures, first: \(outcome.failures.prefix(5))")
            let answered = outcome.answered.values.reduce(0, +)
            #expect(
                answered + outcome.closedUnanswered == 3000,
                "answered \(outcome.answered), closed \(outcome.closedUnanswered)")
            #expect((outcome.answered[400] ?? 0) > 300, "\(outcome.answered)")  // most are refused with a 4xx
            let after = try residentKilobytes(pid)
            #expect(after - before < 64 * 1024, "resident \(before) KB before, \(after) KB after")
            try await stream.waitForEvents(ids.count, timeout: .seconds(10))
            #expect(stream.events.map(\.id) == ids, "the stream got \(stream.events.count) of \(ids.count) events")
            #expect(!stream.isClosed)
            #expect(try await HTTPProbe.get(port: node.port, path: "/healthz").body == "ok\n")
            #expect(node.child.reapIfExited() == nil)
        }
    }
}
