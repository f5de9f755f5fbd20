import SSETestSupport
import Testing

extension EndToEnd {
    /// Another package can depend on this one by version and build `RedisClient` and `Gateway`: the steps are in
    /// scripts/check-packaging (a tagged clone of the committed HEAD, a scratch package with
    /// `.package(url:from: "1.0.0")`, no `unsafeFlags` on library targets, and a self-test that one put back is
    /// found). It runs here, in the end-to-end phase, because it builds SwiftNIO and both libraries again (about
    /// 2–3 minutes on 2 cores).
    @Suite("This package as a versioned dependency")
    struct PackagingTests {
        @Test func aPackageDependingOnThisOneByVersionBuildsRedisClientAndGateway() async throws {
            let script = NginxProcess.repositoryRoot + "/scripts/check-packaging"
            let result = try await runProgram("/bin/bash", [script], timeout: .seconds(900))
            #expect(result.status == 0, "check-packaging:\n\(result.output.suffix(4000))")
            #expect(
                result.output.contains(
                    "an unsafe flag put back is reported: RedisClient: -enforce-exclusivity=unchecked"),
                "the self-test ran: \(result.output.suffix(2000))")
            #expect(result.output.contains("no library target has unsafeFlags"))
            #expect(result.output.contains("consumer links GatewayStats and null\n"))
            #expect(result.output.hasSuffix("PASSED\n"), "\(result.output.suffix(2000))")
        }
    }
}
