import Foundation
import LocalRedis
import SSETestSupport
import Testing

/// `ssectl patch` and `ssectl tail` against a real redis-server and a real gateway node.
@Suite("ssectl (real redis-server and sse-gateway)")
struct SSECtlTests {
    /// The built `ssectl`, beside the test bundle like the gateway.
    static var executable: String {
        URL(fileURLWithPath: GatewayProcess.executable).deletingLastPathComponent().appendingPathComponent("ssectl")
            .path
    }

    /// Runs `ssectl` to the end; returns its exit status, standard output and standard error. Waits by polling
    /// with `Task.sleep`, so no thread of the concurrency pool is blocked while it runs.
    static func run(_ arguments: [String]) async throws -> (status: Int32, output: String, error: String) {
        let base = NSTemporaryDirectory() + "ssectl-\(UInt64.random(in: 0...UInt64.max))"
        let paths = (output: base + ".out", errors: base + ".err")
        defer {
            try? FileManager.default.removeItem(atPath: paths.output)
            try? FileManager.default.removeItem(atPath: paths.errors)
        }
        _ = FileManager.default.createFile(atPath: paths.output, contents: nil)
        _ = FileManager.default.createFile(atPath: paths.errors, contents: nil)
        let process = try ChildProcess(
            executable, arguments, output: .files(output: paths.output, error: paths.errors))
        let status = await process.exit(within: .seconds(30))
        let output = (try? String(contentsOfFile: paths.output, encoding: .utf8)) ?? ""
        let error = (try? String(contentsOfFile: paths.errors, encoding: .utf8)) ?? ""
        guard let status else { throw TimedOut(what: "ssectl \(arguments.first ?? "") exits", timeout: .seconds(30)) }
        return (status, output, error)
    }

    @Test func tailPrintsThePatchAndThePlainEventThatPatchAndPublishSent() async throws {
        let redis = try await LocalRedisServer.start()
        defer { redis.stop() }
        let node = try await GatewayProcess.start(redis: redis)
        let outputPath = NSTemporaryDirectory() + "ssectl-tail-\(node.port).out"
        FileManager.default.createFile(atPath: outputPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outputPath) }

        let tail = try ChildProcess(
            Self.executable, ["tail", "--count", "2", "http://127.0.0.1:\(node.port)/sse?topic=board"],
            output: .files(output: outputPath, error: "/dev/null"))
        defer { tail.kill() }

        let publisher = try await TestPublisher.connect(redis)
        defer { publisher.close() }
        try await publisher.waitForSubscribers(["board"])

        let patch = try await Self.run([
            "patch", "--redis-url", redis.url, "board", "--html", "posts=<li>a</li>\n<li>b</li>", "--js",
            "postCount=2", "--exec", "notify(\"hi\")",
        ])
        #expect(patch.status == 0, "\(patch.error)")
        let plain = try await Self.run(["publish", "--redis-url", redis.url, "--event", "note", "board", "hi there"])
        #expect(plain.status == 0, "\(plain.error)")
        let patchID = patch.output.trimmingCharacters(in: .whitespacesAndNewlines)
        let plainID = plain.output.trimmingCharacters(in: .whitespacesAndNewlines)

        #expect(await tail.exit(within: .seconds(10)) == 0, "ssectl tail exits after 2 events")
        let printed = try String(contentsOfFile: outputPath, encoding: .utf8)
        #expect(
            printed == """
                id: \(patchID)
                data: {"html":{"posts":"<li>a</li>\\n<li>b</li>"},"js":{"postCount":2,"exec":"notify(\\"hi\\")"}}

                id: \(plainID)
                event: note
                data: hi there


                """)
    }

    @Test func patchRejectsBadEntriesWithOneLineReasons() async throws {
        let cases: [([String], String)] = [
            (
                ["patch", "board", "--js", "exec=1"],
                "Error: --js exec=…: \"exec\" is reserved for code; use --exec CODE"
            ),
            (
                ["patch", "board", "--js", "n=abc"],
                "Error: --js n=abc: the value is not JSON (quote strings: --js n='\"text\"')"
            ),
            (["patch", "board", "--html", "=x"], "Error: --html =x: expected ID=HTML"),
            (["patch", "board", "--html", "a b=x"], "Error: --html a b=x: element id \"a b\" must not contain spaces"),
            (["patch", "board"], "Error: nothing to publish: give --html, --js or --exec"),
        ]
        for (arguments, message) in cases {
            let result = try await Self.run(arguments)
            #expect(result.status == 64, "\(arguments)")
            #expect(result.error.split(separator: "\n").first.map(String.init) == message)
        }
    }

    @Test func tailReportsAnHTTPErrorAndExitsWithStatusOne() async throws {
        let redis = try await LocalRedisServer.start()
        defer { redis.stop() }
        let node = try await GatewayProcess.start(redis: redis)
        let result = try await Self.run(["tail", "http://127.0.0.1:\(node.port)/sse"])
        #expect(result.status == 1)
        #expect(result.output == "")
        #expect(
            result.error
                == "ssectl: HTTP 400 Bad Request\nssectl: missing topic: use /sse?topic=NAME (repeat topic= for several)\n"
        )
    }
}
