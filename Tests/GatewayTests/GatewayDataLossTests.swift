import Foundation
import Gateway
import LocalRedis
import RedisClient
import SSETestSupport
import Testing

/// Redis restarting empty under live streams: the streams are told `resync` (`redis-data-lost`) and then get every
/// reliable event the new Redis accepted, including those published before the node had resubscribed, each once.
@Suite("Gateway after Redis lost its data (real redis-server and sse-gateway)")
struct GatewayDataLossTests {
    @Test func everyEventTheNewRedisAcceptedReachesEveryStreamAfterTheResync() async throws {
        try await withLocalRedis { redis in  // no persistence: a restart is empty
            let node = try await GatewayProcess.start(redis: redis)
            let clients = try await (0..<5).asyncMap { _ in
                try await SSETestClient.open(port: node.port, path: "/sse?topic=lossy&topic=other")
            }
            for client in clients { try await client.waitUntilConnected() }
            let client = RedisClient(configuration: redis.configuration)
            let history = SSEHistoryPublisher(client: client)
            var before: [String] = []
            var after: [String] = []
            for index in 0..<200 {
                if index == 100 {
                    // The node is frozen across the restart, so the new Redis accepts events 100–129 before the
                    // node has resubscribed (as when a node's reconnect backoff outlasts a fast restart).
                    node.signal(SIGSTOP)
                    redis.kill()
                    try await redis.restart()  // empty
                }
                if index == 130 { node.signal(SIGCONT) }
                // A publish that failed (Redis down) is sent again until acknowledged.
                while true {
                    if let id = try? await history.publish(index % 3 == 0 ? "other" : "lossy", "event-\(index)") {
                        if index < 100 { before.append(id) } else { after.append(id) }
                        break
                    }
                    try await Task.sleep(for: .milliseconds(10))
                }
            }
            await client.close()
            for (number, sse) in clients.enumerated() {
                try await waitUntil("client \(number) has every event of the new Redis") {
                    let ids = Set(sse.events.compactMap(\.id))
                    return after.allSatisfy { ids.contains($0) }
                }
                let resync = try #require(
                    sse.events.firstIndex { $0.event == "resync" }, "client \(number) was told about the loss")
                #expect(sse.events[resync].data == #"{"reason":"redis-data-lost"}"#)
                #expect(sse.events.filter { $0.event == "resync" }.count == 1)
                let ids = sse.events.compactMap(\.id)
                #expect(Set(ids).count == ids.count, "client \(number): no duplicate")
                let afterLoss = Array(sse.events[(resync + 1)...].compactMap(\.id))
                #expect(afterLoss == after, "client \(number): \(afterLoss.count) of \(after.count), in order")
                // Before the loss, live: all but possibly the last acknowledged event, whose pub/sub copy may still
                // have been in the killed Redis's output buffer (publishes are sequential, so only one can be).
                let beforeLoss = Array(sse.events[..<resync].compactMap(\.id))
                #expect(
                    beforeLoss == Array(before.prefix(beforeLoss.count)) && beforeLoss.count >= before.count - 1,
                    "client \(number): \(beforeLoss.count) of \(before.count) before the loss")
                #expect(!sse.isClosed)
            }
            let metrics = try await node.metrics()
            #expect(metrics.redis.reconnects == 1)
            for sse in clients { sse.close() }
        }
    }
}
