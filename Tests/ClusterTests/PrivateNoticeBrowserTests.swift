import Foundation
import SSETestSupport
import Testing

extension EndToEnd {
    /// Issue 14, point 7, as a person sees it: the publisher signs each visitor's cookie, the nodes verify it, and
    /// in headless Chromium through nginx only the poster's page says their post was published. The steps and their
    /// checks are in Tests/browser/private_notice.py; this test gives it a cluster with a token key and 6 s tokens,
    /// so a stream ends at its token's expiry and engine.js renews the cookie at `POST /token` during the test.
    @Suite("Private visitor topics in a real browser")
    struct PrivateNoticeBrowserTests {
        @Test func onlyThePostersPageShowsTheNoticeAndAnotherVisitorsTopicIsRefused() async throws {
            let secretFile = NSTemporaryDirectory() + "private-notice-browser-\(getpid()).secret"
            try Data("a-browser-test-secret-of-at-least-32-bytes\n".utf8).write(to: URL(fileURLWithPath: secretFile))
            defer { try? FileManager.default.removeItem(atPath: secretFile) }
            let key = "demo=HS256:\(secretFile)"
            let cluster = try await TestCluster.start(
                nodeCount: 2, gatewayArguments: ["--token-key", key, "--public-topic", "board"], withPublisher: true,
                publisherArguments: [
                    "--token-signing-key", key, "--trusted-proxy", "127.0.0.1", "--token-lifetime", "6",
                ])
            defer { cluster.stop() }
            let result = try await runProgram(
                "/usr/bin/python3",
                [
                    NginxProcess.repositoryRoot + "/Tests/browser/private_notice.py", "--url",
                    "http://127.0.0.1:\(cluster.port)/", "--renewal-within", "15",
                ], timeout: .seconds(120))
            #expect(result.status == 0, "private_notice.py:\n\(result.output)")
            #expect(result.output.hasSuffix("PASSED\n"), "\(result.output)")
        }
    }
}
