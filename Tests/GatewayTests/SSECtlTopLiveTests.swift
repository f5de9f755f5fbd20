import Foundation
import LocalRedis
import SSEProtocol
import SSETestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `ssectl top` running: plain refreshes at the interval, errors shown and retried while Redis is down, and the
/// registry read from its shard on a Redis Cluster.
@Suite("ssectl top live (real redis-server and sse-gateway)", .serialized)
struct SSECtlTopLiveTests {
    /// Output and error files of one `ssectl` run in the background, removed at the end.
    struct Files {
        let output = NSTemporaryDirectory() + "ssectl-top-\(UInt64.random(in: 0...UInt64.max)).out"
        var error: String { output + ".err" }

        init() {
            _ = FileManager.default.createFile(atPath: output, contents: nil)
            _ = FileManager.default.createFile(atPath: error, contents: nil)
        }

        func read() -> (output: String, error: String) {
            (
                (try? String(contentsOfFile: output, encoding: .utf8)) ?? "",
                (try? String(contentsOfFile: error, encoding: .utf8)) ?? ""
            )
        }

        func remove() {
            try? FileManager.default.removeItem(atPath: output)
            try? FileManager.default.removeItem(atPath: error)
        }
    }

    static func headers(_ text: String) -> Int {
        text.split(separator: "\n").filter { $0 == SSECtlTopTests.header }.count
    }

    @Test func livePlainModePrintsAWellFormedBlockEveryInterval() async throws {
        try await withLocalRedis { redis in
            let first = try await GatewayProcess.start(redis: redis)
            let second = try await GatewayProcess.start(redis: redis)
            let ids = ["test-\(first.port)", "test-\(second.port)"].sorted()
            try await waitUntil("both nodes ready", timeout: .seconds(6)) {
                try await SSECtlTopTests.snapshot(redis.url)?.nodes.filter { $0[1] == "ready" }.count == 2
            }
            let files = Files()
            defer { files.remove() }
            let started = ContinuousClock.now
            let top = try ChildProcess(
                SSECtlTests.executable, ["top", "--redis-url", redis.url, "--plain", "--interval", "0.2"],
                output: .files(output: files.output, error: files.error))
            defer { top.kill() }
            try await waitUntil("four refreshes", timeout: .seconds(10), every: .milliseconds(20)) {
                Self.headers(files.read().output) >= 4
            }
            #expect(top.reapIfExited() == nil, "ssectl top keeps running")
            top.kill()
            let elapsed = ContinuousClock.now - started
            let (output, error) = files.read()
            #expect(error == "")
            #expect(!output.contains("\u{1B}"))
            let blocks = try #require(SSECtlTopTests.blocks(output, allowingCutEnd: true), "\(output)")
            #expect(blocks.count >= 4)
            // One block per 0.2 s at most (the first at once): the interval is kept, not raced through.
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            #expect(blocks.count <= Int(seconds / 0.2) + 1, "\(blocks.count) blocks in \(elapsed)")
            for block in blocks {
                #expect(block.nodes.map { Array($0[0...2]) } == ids.map { [$0, "ready", "0"] })
                #expect(block.total[0...2] == ["total", "ready=2 draining=0 not-ready=0 down=0", "0"])
            }
        }
    }

    @Test func whileRedisIsDownEachRefreshPrintsTheErrorAndTopRecoversWhenItIsBack() async throws {
        try await withLocalRedis { redis in
            let node = try await GatewayProcess.start(redis: redis)
            let files = Files()
            defer { files.remove() }
            let top = try ChildProcess(
                SSECtlTests.executable, ["top", "--redis-url", redis.url, "--interval", "0.2"],
                output: .files(output: files.output, error: files.error))
            defer { top.kill() }
            try await waitUntil("a refresh with the node", timeout: .seconds(10), every: .milliseconds(20)) {
                SSECtlTopTests.blocks(files.read().output, allowingCutEnd: true)?.last?.nodes.count == 1
            }
            redis.kill()
            let prefix = "ssectl top: cannot read the node registry at 127.0.0.1:\(redis.port): "
            try await waitUntil("three error lines", timeout: .seconds(10), every: .milliseconds(20)) {
                files.read().error.split(separator: "\n").count >= 3
            }
            #expect(top.reapIfExited() == nil, "ssectl top keeps running while Redis is down")
            let errors = files.read().error.split(separator: "\n")
            #expect(errors.allSatisfy { $0.hasPrefix(prefix) }, "\(errors)")
            let before = SSECtlTopTests.blocks(files.read().output, allowingCutEnd: true)?.count ?? 0
            try await redis.restart()
            // The registry is empty after the restart until the node's next beat: wait for the node again.
            try await waitUntil("a refresh with the node again", timeout: .seconds(10), every: .milliseconds(20)) {
                let blocks = SSECtlTopTests.blocks(files.read().output, allowingCutEnd: true) ?? []
                return blocks.count > before && blocks.last?.nodes.first?[0...1] == ["test-\(node.port)", "ready"]
            }
            top.kill()
            #expect(SSECtlTopTests.blocks(files.read().output, allowingCutEnd: true) != nil)
        }
    }

    @Test func onARedisClusterTopReadsTheRegistryShardAndShowsAKilledNodeDown() async throws {
        var options = LocalRedisCluster.Options()
        options.replicasPerPrimary = 0
        let redis = try await LocalRedisCluster.start(options)
        defer { redis.stop() }
        let url = TestCluster.seedURL(of: redis)
        let first = try await GatewayProcess.start(redisURL: url)
        defer { first.kill() }
        let second = try await GatewayProcess.start(redisURL: url)
        defer { second.kill() }
        let stream = try await SSETestClient.open(port: first.port, path: "/sse?topic=room")
        defer { stream.close() }
        try await stream.waitUntilConnected()
        let ids = ["test-\(first.port)", "test-\(second.port)"].sorted()
        var block: SSECtlTopTests.Block?
        try await waitUntil("both nodes ready on the cluster", timeout: .seconds(10), every: .milliseconds(100)) {
            block = try await SSECtlTopTests.snapshot(url)
            return block?.nodes.map { Array($0[0...2]) }
                == ids.map { [$0, "ready", $0 == "test-\(first.port)" ? "1" : "0"] }
        }
        for row in block?.nodes ?? [] {
            // The control link, and one per shard the node subscribed on (the node with the stream has one): all up.
            let links = row[6].split(separator: "/").compactMap { Int($0) }
            let least = row[0] == "test-\(first.port)" ? 2 : 1
            #expect(links.count == 2 && links[0] == links[1] && links[0] >= least, "\(row)")
        }
        second.signal(SIGKILL)
        let killed = ContinuousClock.now
        try await waitUntil("the killed node down", timeout: .seconds(5), every: .milliseconds(50)) {
            block = try await SSECtlTopTests.snapshot(url)
            return block?.nodes.first { $0[0] == "test-\(second.port)" }?[1] == "down"
        }
        #expect(ContinuousClock.now - killed < .seconds(3.5))
        #expect(block?.total[1] == "ready=1 draining=0 not-ready=0 down=1")
        #expect(block?.total[2] == "1")
    }
}
