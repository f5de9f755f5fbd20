import Foundation
import SSETestSupport
import Testing

extension EndToEnd {
    /// The demo as a person sees it: headless Chromium (Debian's chromium and chromium-driver, driven by
    /// python3-selenium) with two windows on the board through nginx, each served by a different node.
    /// The steps and their checks are in Tests/browser/live_board.py; this test gives it a cluster and the nodes' pids.
    @Suite("The demo board in a real browser")
    struct BrowserTests {
        @Test func aPostInOneWindowAppearsInBothAndReachesAWindowWhoseNodeWasKilled() async throws {
            // A 3 s retry hint (plus jitter) keeps the killed node's window reconnecting long enough to post meanwhile.
            let cluster = try await TestCluster.start(gatewayArguments: ["--retry-ms", "3000"], withPublisher: true)
            defer { cluster.stop() }
            var arguments = [
                NginxProcess.repositoryRoot + "/Tests/browser/live_board.py", "--url",
                "http://127.0.0.1:\(cluster.port)/",
            ]
            for number in 1...cluster.nodes.count {
                let pid = try #require(cluster.processID(ofNode: number), "node \(number) runs")
                arguments += ["--node", "\(number)=\(pid)"]
            }
            let result = try await runProgram("/usr/bin/python3", arguments, timeout: .seconds(180))
            #expect(result.status == 0, "live_board.py:\n\(result.output)")
            #expect(result.output.hasSuffix("PASSED\n"), "\(result.output)")
            // The script killed exactly one node, the one serving window A; the others still serve.
            let ended = cluster.nodes.enumerated().compactMap { index, node in node.reapIfExited().map { (index, $0) } }
            #expect(ended.map(\.1) == [128 + 9], "one node ended, by SIGKILL: \(ended)")
            #expect(result.output.contains("killed node \((ended.first?.0 ?? -2) + 1) "))
        }
    }
}
