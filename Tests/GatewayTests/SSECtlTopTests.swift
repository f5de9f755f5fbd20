import Foundation
import LocalRedis
import SSEProtocol
import SSETestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 16, point 7: `ssectl top` against real redis-server and sse-gateway processes — the plain snapshot's exact
/// lines, a killed node shown `down`, the JSON snapshot, the live refreshes, and the errors.
@Suite("ssectl top (real redis-server and sse-gateway)", .serialized)
struct SSECtlTopTests {
    static let header = "node\tstate\tstreams\tevents_per_s\tp50_ms\tp99_ms\tlinks\tslow_cuts\tsheds\tresyncs\tage_s"

    /// One refresh of the plain output: the node lines and the total line, each split at tabs.
    struct Block: Equatable {
        var nodes: [[String]]
        var total: [String]
    }

    /// Splits plain output into its blocks; nil when any block is not a header, node lines and one `total` line.
    /// A last block cut short by a kill is left out when `allowingCutEnd`.
    static func blocks(_ output: String, allowingCutEnd: Bool = false) -> [Block]? {
        var lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.last == "" else { return allowingCutEnd ? blocks(cutToLastTotal(output)) : nil }
        lines.removeLast()
        var result: [Block] = []
        var index = 0
        while index < lines.count {
            guard lines[index] == header else { return nil }
            index += 1
            var nodes: [[String]] = []
            while index < lines.count, !lines[index].hasPrefix("total\t") {
                let cells = lines[index].split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
                guard cells.count == 11, lines[index] != header else { return nil }
                nodes.append(cells)
                index += 1
            }
            guard index < lines.count else { return allowingCutEnd ? result : nil }
            let total = lines[index].split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard total.count == 11 else { return nil }
            result.append(Block(nodes: nodes, total: total))
            index += 1
        }
        return result
    }

    private static func cutToLastTotal(_ output: String) -> String {
        guard let range = output.range(of: "\ntotal\t", options: .backwards),
            let end = output[range.upperBound...].firstIndex(of: "\n")
        else { return "" }
        return String(output[...end])
    }

    /// `ssectl top --once --plain`'s one block.
    static func snapshot(_ url: String) async throws -> Block? {
        let run = try await SSECtlTests.run(["top", "--redis-url", url, "--once", "--plain"])
        guard run.status == 0, let blocks = blocks(run.output), blocks.count == 1 else { return nil }
        return blocks[0]
    }

    /// A node's cells without the last one (the age of its last beat, which moves), and that age.
    static func split(_ cells: [String]) -> (fixed: [String], age: Double?) {
        (Array(cells.dropLast()), Double(cells.last ?? ""))
    }

    @Test func oncePlainPrintsTheHeaderBothNodesWithTheirExactStreamCountsAndTheTotals() async throws {
        try await withLocalRedis { redis in
            let first = try await GatewayProcess.start(redis: redis)
            let second = try await GatewayProcess.start(redis: redis)
            var streams: [SSETestClient] = []
            defer { streams.forEach { $0.close() } }
            for topic in ["a", "b", "a"] {
                let stream = try await SSETestClient.open(port: second.port, path: "/sse?topic=\(topic)")
                try await stream.waitUntilConnected()
                streams.append(stream)
            }
            let ids = ["test-\(first.port)", "test-\(second.port)"]
            try await waitUntil("both nodes ready, the second with 3 streams", timeout: .seconds(6)) {
                let nodes = try await NodeRegistryTests.nodes(port: first.port) ?? []
                return nodes.count == 2 && nodes.allSatisfy { $0.state == .ready }
                    && nodes.first { $0.nodeID == ids[1] }?.streams == 3
            }
            let run = try await SSECtlTests.run(["top", "--redis-url", redis.url, "--once", "--plain"])
            #expect(run.status == 0)
            #expect(run.error == "")
            let lines = run.output.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.count == 5, "\(run.output)")
            #expect(lines.first.map(String.init) == Self.header)
            #expect(!run.output.contains("\u{1B}"))
            let block = try #require(Self.blocks(run.output)?.first, "\(run.output)")
            let expected = ids.sorted().map { id in
                [id, "ready", id == ids[1] ? "3" : "0", "0.0", "-", "-", "1/1", "0", "0", "0"]
            }
            #expect(block.nodes.map { Self.split($0).fixed } == expected)
            for cells in block.nodes {
                let age = try #require(Self.split(cells).age, "\(cells)")
                // Nodes beat once a second; 0.5 s more for a loaded machine.
                #expect(age >= 0 && age <= 1.5, "\(cells)")
            }
            #expect(
                block.total == [
                    "total", "ready=2 draining=0 not-ready=0 down=0", "3", "0.0", "-", "-", "2/2", "0", "0", "0", "-",
                ])
            // --sort streams puts the node with the streams first.
            let sorted = try await SSECtlTests.run(["top", "--redis-url", redis.url, "--once", "--sort", "streams"])
            #expect(Self.blocks(sorted.output)?.first?.nodes.map { $0[0] } == [ids[1], ids[0]])
        }
    }

    @Test func aKilledNodeIsShownDownWithinThreeAndAHalfSeconds() async throws {
        try await withLocalRedis { redis in
            let survivor = try await GatewayProcess.start(redis: redis)
            let victim = try await GatewayProcess.start(redis: redis)
            let id = "test-\(victim.port)"
            try await waitUntil("both nodes listed", timeout: .seconds(6)) {
                try await Self.snapshot(redis.url)?.nodes.count == 2
            }
            victim.signal(SIGKILL)
            let killed = ContinuousClock.now
            _ = await victim.exit(within: .seconds(5))
            var last: Block?
            while ContinuousClock.now - killed < .seconds(5) {
                last = try await Self.snapshot(redis.url)
                if last?.nodes.first(where: { $0[0] == id })?[1] == "down" { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            let elapsed = ContinuousClock.now - killed
            let block = try #require(last)
            let row = try #require(block.nodes.first { $0[0] == id }, "\(block)")
            #expect(row[1] == "down", "\(block)")
            #expect(elapsed < .seconds(3.5), "\(elapsed)")
            #expect(Self.split(row).fixed == [id, "down", "-", "-", "-", "-", "-", "-", "-", "-"])
            // Its key expired 3 s after its last beat: that beat is at least 3 s old.
            #expect((Self.split(row).age ?? 0) >= 2.9, "\(row)")
            #expect(
                block.nodes.map { $0[1] } == (survivor.port < victim.port ? ["ready", "down"] : ["down", "ready"]))
            #expect(block.total[1] == "ready=1 draining=0 not-ready=0 down=1")
            #expect(block.total[2...3] == ["0", "0.0"])
            #expect(block.total[6] == "1/1")
        }
    }

    /// The JSON snapshot as a script reads it.
    struct Snapshot: Decodable {
        struct Down: Decodable {
            var node_id: String
            var expired_ms: Int64
            var last_beat_ms: Int64
        }
        var v: Int
        var at_ms: Int64
        var nodes: [NodeDocument]
        var down: [Down]
    }

    @Test func jsonPrintsBothNodesDocumentsOnceAndExits() async throws {
        try await withLocalRedis { redis in
            let first = try await GatewayProcess.start(redis: redis)
            let second = try await GatewayProcess.start(redis: redis)
            let stream = try await SSETestClient.open(port: first.port, path: "/sse?topic=room")
            defer { stream.close() }
            try await stream.waitUntilConnected()
            try await waitUntil("both nodes listed, the first with its stream", timeout: .seconds(6)) {
                let nodes = try await NodeRegistryTests.nodes(port: first.port) ?? []
                return nodes.count == 2 && nodes.first { $0.nodeID == "test-\(first.port)" }?.streams == 1
            }
            let run = try await SSECtlTests.run(["top", "--redis-url", redis.url, "--json"])
            #expect(run.status == 0)
            #expect(run.output.hasSuffix("}\n") && run.output.filter { $0 == "\n" }.count == 1)
            let snapshot = try JSONDecoder().decode(Snapshot.self, from: Data(run.output.utf8))
            #expect(snapshot.v == 1)
            #expect(abs(snapshot.at_ms - NodeRegistryTests.now()) < 5000)
            #expect(snapshot.nodes.map(\.nodeID) == ["test-\(first.port)", "test-\(second.port)"].sorted())
            #expect(snapshot.down.isEmpty)
            let document = try #require(snapshot.nodes.first { $0.nodeID == "test-\(first.port)" })
            #expect(document.streams == 1)
            #expect(document.address == "127.0.0.1:\(first.port)")
            // The registry key's full document: the per-topic presence is there.
            #expect(
                document.presence.topics == [
                    NodeDocument.TopicPresence(topic: "room", streams: 1, subjects: [], subjectsTotal: 0)
                ])
        }
    }

    @Test func badOptionsAreRefusedWithAOneLineReasonAndStatus64() async throws {
        let cases: [([String], String)] = [
            (["--interval", "0.1"], "Error: --interval 0.1: expected 0.2 to 60 seconds between refreshes"),
            (["--interval", "61"], "Error: --interval 61: expected 0.2 to 60 seconds between refreshes"),
            (["--interval", "soon"], "Error: The value 'soon' is invalid for '--interval <interval>'"),
            (
                ["--sort", "size"],
                "Error: The value 'size' is invalid for '--sort <sort>'. Please provide one of 'node', 'streams', 'events' or 'p99'."
            ),
        ]
        for (arguments, message) in cases {
            let result = try await SSECtlTests.run(["top", "--once"] + arguments)
            #expect(result.status == 64, "\(arguments)")
            #expect(result.output == "")
            #expect(result.error.split(separator: "\n").first.map(String.init) == message, "\(result.error)")
        }
    }

    @Test func unreachableRedisWithOnceOrJsonExitsOneWithOneLine() async throws {
        let port = try freeLoopbackPort()
        for mode in ["--once", "--json"] {
            let result = try await SSECtlTests.run(["top", "--redis-url", "redis://127.0.0.1:\(port)", mode])
            #expect(result.status == 1, "\(mode)")
            #expect(result.output == "")
            #expect(
                result.error
                    == "ssectl top: cannot read the node registry at 127.0.0.1:\(port): "
                    + "cannot connect to Redis at 127.0.0.1:\(port): connection refused\n")
        }
    }
}
