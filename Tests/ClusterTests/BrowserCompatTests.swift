import Foundation
import LocalRedis
import SSETestSupport
import Testing

extension EndToEnd {
    /// The client libraries' mechanisms in a real browser (headless Chromium driven by python3-selenium): pages of
    /// the project's own in Tests/browser/compat/ (a plain EventSource, a credentialed EventSource with named events
    /// swapped by listeners, a fetch body reader with Datastar's headers and retry rules, a Turbo-style stream
    /// source), each same-origin and cross-origin, through a kill -9 and a SIGTERM of the node serving them and an
    /// `ssectl end`. The steps and checks are in Tests/browser/compat_suite.py; this test gives it two nodes behind
    /// nginx, which also serves the pages at /compat/.
    @Suite("Client library mechanisms in a real browser, same- and cross-origin")
    struct BrowserCompatTests {
        @Test func everyPageAppliesEveryPatchOnceInOrderThroughACrashADrainAndAnEnd() async throws {
            // The public port is chosen first: the gateways must list both page origins, and both name it.
            let port = try freeLoopbackPort()
            let origins = "http://127.0.0.1:\(port),http://localhost:\(port)"
            let root = NginxProcess.repositoryRoot
            // A short retry hint so reconnects fit the suite's time; a 1 s drain window.
            let cluster = try await TestCluster.start(
                nodeCount: 2,
                gatewayArguments: ["--retry-ms", "300", "--drain-seconds", "1", "--allowed-origins", origins],
                nginxPort: port, staticFolders: ["/compat/": root + "/Tests/browser/compat/"])
            defer { cluster.stop() }
            let ssectl = URL(fileURLWithPath: GatewayProcess.executable).deletingLastPathComponent()
                .appendingPathComponent("ssectl").path
            var arguments = [
                root + "/Tests/browser/compat_suite.py", "--port", "\(port)", "--redis-url", cluster.redis.url,
                "--ssectl", ssectl,
            ]
            for number in 1...cluster.nodes.count {
                let pid = try #require(cluster.processID(ofNode: number), "node \(number) runs")
                arguments += ["--node", "\(number)=\(pid)"]
            }
            let result = try await runProgram("/usr/bin/python3", arguments, timeout: .seconds(200))
            let failures = result.output.split(separator: "\n").filter { $0.hasPrefix("FAIL") }
            #expect(failures.isEmpty, "\(failures.count) failed checks:\n\(failures.joined(separator: "\n"))")
            // Which node answered each stream request, and with what, when a check failed.
            let streams = cluster.nginx.accessLog.split(separator: "\n").filter { $0.contains("/sse?") }.suffix(80)
            let logs =
                "nginx, last /sse requests:\n\(streams.joined(separator: "\n"))\n"
                + "nginx's error log:\n\(cluster.nginx.errorLog.suffix(30000))"
            #expect(result.status == 0, "compat_suite.py:\n\(result.output)\n\(logs)")
            #expect(result.output.hasSuffix("PASSED\n"), "\(result.output)")
            // The script killed both first processes (kill -9); the processes it restarted were its own.
            let ended = cluster.nodes.map { $0.reapIfExited() }
            #expect(ended == [128 + 9, 128 + 9], "both first node processes ended by SIGKILL: \(ended)")
        }
    }
}
