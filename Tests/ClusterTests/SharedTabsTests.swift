import Foundation
import LocalRedis
import SSETestSupport
import Testing

extension EndToEnd {
    /// engine.js's tab sharing in a real browser: five tabs of the demo board through nginx hold one stream in the
    /// whole cluster, and when the leading tab closes another takes over within 2 s without a tab missing or
    /// repeating an event. The steps and their checks are in Tests/browser/shared_tabs.py.
    @Suite("Tabs of one browser share one stream")
    struct SharedTabsTests {
        @Test func fiveTabsHoldOneStreamAndAnotherTabTakesOverWithinTwoSecondsWhenTheLeaderCloses() async throws {
            let cluster = try await TestCluster.start(withPublisher: true)
            defer { cluster.stop() }
            try await Self.requireTopicTags(cluster)
            let result = try await runProgram(
                "/usr/bin/python3",
                [
                    NginxProcess.repositoryRoot + "/Tests/browser/shared_tabs.py", "--url",
                    "http://127.0.0.1:\(cluster.port)/", "--nodes", "\(cluster.nodes.count)",
                ], timeout: .seconds(180))
            #expect(result.status == 0, "shared_tabs.py:\n\(result.output)")
            #expect(result.output.hasSuffix("PASSED\n"), "\(result.output)")
            // Afterwards (the browser gone) no stream is left open anywhere.
            try await waitUntil("the browser's stream closed") {
                try await cluster.activeConnections().reduce(0, +) == 0
            }
        }

        /// Shared tabs route events by the topic the gateway writes on each event's first data line (`tag=topic`).
        /// A gateway without it would leave every tab blank; this says so plainly instead.
        static func requireTopicTags(_ cluster: TestCluster) async throws {
            let client = ReconnectingSSEClient.open(port: cluster.port, path: "/sse?topic=tag-probe&tag=topic")
            defer { client.close() }
            try await client.waitUntilConnected()
            let published = try await publishStream("tag-probe", count: 1, redis: cluster.redis)
            try await client.waitForEvents(1, timeout: .seconds(10))
            let data = client.events.first?.data ?? ""
            try #require(
                data == "tag-probe\n" + (published.first?.data ?? ""),
                """
                the gateway does not tag events with their topic (GET /sse?…&tag=topic sent \(data.debugDescription)): \
                engine.js's shared tabs need it (the lead's "chunked framing, CORS credentials" commit)
                """)
        }
    }
}
