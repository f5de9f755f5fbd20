import Foundation
import SSETestSupport
import Testing

extension EndToEnd {
    /// The cluster dashboard in headless Chromium through nginx: three nodes ready, stream counts updated live from
    /// the gateway's own `sse.nodes` stream, a node killed with `kill -9` shown as down within three seconds. The
    /// steps are in Tests/browser/dashboard.py.
    @Suite("The cluster dashboard in a real browser")
    struct BrowserDashboardTests {
        @Test func threeNodesShowLiveAndAKilledOneIsDownWithinThreeSeconds() async throws {
            let cluster = try await TestCluster.start(nodeCount: 3, withPublisher: true)
            defer { cluster.stop() }
            var arguments = [
                NginxProcess.repositoryRoot + "/Tests/browser/dashboard.py", "--url",
                "http://127.0.0.1:\(cluster.port)/",
                "--kill", "3",
            ]
            for (index, node) in cluster.nodes.enumerated() {
                let number = index + 1
                let pid = try #require(cluster.processID(ofNode: number), "node \(number) runs")
                arguments += [
                    "--node", "\(number)=\(pid)", "--node-id", "\(number)=\(cluster.nodeIDs[index])", "--node-port",
                    "\(number)=\(node.port)",
                ]
            }
            if let path = ProcessInfo.processInfo.environment["SSE_DASHBOARD_SCREENSHOT"] {
                arguments += ["--screenshot", path]
            }
            let result = try await runProgram("/usr/bin/python3", arguments, timeout: .seconds(120))
            #expect(result.status == 0, "dashboard.py:\n\(result.output)")
            #expect(result.output.hasSuffix("PASSED\n"), "\(result.output)")
            let ended = cluster.nodes.enumerated().compactMap { index, node in node.reapIfExited().map { (index, $0) } }
            #expect(ended.map(\.0) == [2] && ended.map(\.1) == [128 + 9], "node 3 alone ended, by SIGKILL: \(ended)")
        }
    }
}
