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

    @Test func aFrozenRedisGivesATimeoutAfterTwoSecondsPerRefreshAndTopRecoversWhenItAnswersAgain() async throws {
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
            redis.pause()
            let paused = ContinuousClock.now
            try await waitUntil("two timeouts", timeout: .seconds(10), every: .milliseconds(20)) {
                files.read().error.split(separator: "\n").count >= 2
            }
            // Each read waits its 2 s before it gives up: two of them take 4 s at least.
            #expect(ContinuousClock.now - paused >= .seconds(3.9))
            let line =
                "ssectl top: cannot read the node registry at 127.0.0.1:\(redis.port): Redis at 127.0.0.1:\(redis.port) "
                + "did not answer the node registry read within 2000 ms"
            #expect(files.read().error.split(separator: "\n").allSatisfy { $0 == line }, "\(files.read().error)")
            let before = SSECtlTopTests.blocks(files.read().output, allowingCutEnd: true)?.count ?? 0
            redis.resume()
            try await waitUntil("a refresh with the node again", timeout: .seconds(10), every: .milliseconds(20)) {
                let blocks = SSECtlTopTests.blocks(files.read().output, allowingCutEnd: true) ?? []
                return blocks.count > before && blocks.last?.nodes.first?[0] == "test-\(node.port)"
            }
            #expect(top.reapIfExited() == nil)
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

    /// On a terminal (a pseudo-terminal from util-linux `script`): the alternate screen and a hidden cursor, each
    /// refresh drawn from the home position, and `q` gives the terminal back and exits 0.
    @Test func onATerminalTheTableIsRedrawnInPlaceAndQQuitsCleanly() async throws {
        try await withLocalRedis { redis in
            let first = try await GatewayProcess.start(redis: redis)
            let second = try await GatewayProcess.start(redis: redis)
            try await waitUntil("both nodes ready", timeout: .seconds(6)) {
                try await SSECtlTopTests.snapshot(redis.url)?.nodes.filter { $0[1] == "ready" }.count == 2
            }
            let files = Files()
            defer { files.remove() }
            let command = "\(SSECtlTests.executable) top --redis-url \(redis.url) --interval 0.2"
            // `q` is typed once the terminal shows three refreshes; `timeout` bounds the whole run.
            let typist =
                "until [ \"$(grep -c 'nodes  ready: 2' \(files.output))\" -ge 3 ]; do sleep 0.05; done; printf q"
            let shell = try ChildProcess(
                "/bin/bash",
                ["-c", "set -euo pipefail; { \(typist); } | timeout 15 script -qfec '\(command)' \(files.output)"],
                output: .files(output: "/dev/null", error: files.error))
            defer { shell.kill() }
            #expect(await shell.exit(within: .seconds(20)) == 0, "\(files.read().error)")
            let screen = files.read().output
            let opened = "\u{1B}[?1049h\u{1B}[?25l\u{1B}[H"
            let closed = "\u{1B}[J\u{1B}[?25h\u{1B}[?1049l"
            #expect(screen.contains(opened))
            #expect(screen.contains(closed))
            #expect(screen.contains("[COMMAND_EXIT_CODE=\"0\"]"))
            let drawn = try #require(screen.range(of: opened).map { screen[$0.upperBound...] })
            let draws = drawn.components(separatedBy: "\u{1B}[H").filter { $0.contains("nodes  ready: 2") }
            #expect(draws.count >= 3)
            let ids = ["test-\(first.port)", "test-\(second.port)"].sorted()
            for draw in draws {
                let lines = draw.components(separatedBy: "\u{1B}[K\r\n")
                #expect(lines[0].hasPrefix("ssectl top  127.0.0.1:\(redis.port)  "), "\(lines)")
                #expect(lines[0].hasSuffix("  every 0.2 s  (q or Ctrl-C quits)"), "\(lines)")
                #expect(
                    lines[2].split(separator: " ").joined(separator: " ")
                        == "NODE STATE STREAMS EVENTS/S P50 MS P99 MS LINKS SLOW CUTS SHEDS RESYNCS AGE S")
                // Both rows in id order, the columns padded to the widest id.
                #expect(lines[3].hasPrefix(ids[0] + "  ready  ") && lines[4].hasPrefix(ids[1] + "  ready  "))
                #expect(lines[3].count == lines[2].count && lines[4].count == lines[2].count, "\(lines)")
                #expect(lines[7] == "nodes  ready: 2  draining: 0  not-ready: 0  down: 0", "\(lines)")
            }
        }
    }
}
