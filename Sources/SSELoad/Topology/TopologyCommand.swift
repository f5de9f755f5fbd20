import ArgumentParser
import Foundation
import LocalRedis
import NIOCore
import NIOPosix
import RedisClient
import ServerSupport

/// `sse-load topology`: what sharded subscription costs a gateway node. The same flow of reliable events goes to
/// a real `sse-gateway` on one redis-server and on a Redis Cluster of three primaries (no replicas), both started
/// here on loopback; the report gives the node's and Redis's CPU time per delivered event and the delivery latency
/// on each, and the ratios three shards / one Redis.
///
/// Rounds alternate which topology goes first; each run starts its own gateway and streams. Every process it
/// starts is a ``ChildProcess`` stopped by pid at the end (or on SIGINT/SIGTERM).
struct TopologyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topology",
        abstract: "Gateway CPU per delivered event on one Redis vs a Cluster of three shards.")

    @Option(help: "Streams opened on the gateway (each on one topic).") var streams = 1000
    @Option(help: "Topics on each of the three shards (the one Redis gets the same names).") var topicsPerShard = 4
    @Option(help: "Reliable events published per run.") var events = 3000
    @Option(help: "Events published per second.") var rate = 500
    @Option(help: "Bytes of each event's data.") var payloadSize = 100
    @Option(help: "Rounds; medians are reported.") var rounds = 3
    @Option(help: "Event-loop threads of the streams.") var threads = 1
    @Option(help: "The sse-gateway binary (default: beside this program).") var gateway: String?
    @Option(help: "Work folder for logs (default: a new folder under /tmp).") var work: String?
    @Flag(help: "Print only the final JSON line.") var jsonOnly = false

    func validate() throws {
        for (name, value) in [
            ("streams", streams), ("topics-per-shard", topicsPerShard), ("events", events), ("rate", rate),
            ("payload-size", payloadSize), ("rounds", rounds), ("threads", threads),
        ] where value < 1 {
            throw ValidationError("--\(name) must be at least 1, got \(value)")
        }
    }

    func run() async throws {
        let interrupts = SuiteCommand.stopChildrenOnInterrupt()
        defer { interrupts.forEach { $0.cancel() } }
        let files = ProcessLimits.raiseFileLimit()
        guard streams + 64 <= files else { throw LoadError("\(streams) streams need more than \(files) open files") }
        let me =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let binaries = URL(fileURLWithPath: me).deletingLastPathComponent().path
        let folder = try work ?? SuiteCommand.makeWorkFolder()
        let workspace = try SuiteWorkspace(
            repository: FileManager.default.currentDirectoryPath, work: folder,
            gateway: gateway ?? binaries + "/sse-gateway", load: me, floor: "")
        guard FileManager.default.isExecutableFile(atPath: workspace.gateway) else {
            throw ValidationError("the gateway \(workspace.gateway) is missing: build it or pass --gateway")
        }

        let single = try await LocalRedisServer.start()
        defer { single.kill() }
        var options = LocalRedisCluster.Options(primaries: 3, replicasPerPrimary: 0)
        options.nodeTimeout = .seconds(5)
        let cluster = try await LocalRedisCluster.start(options)
        defer { cluster.stop() }
        let map = try await cluster.slotMap()
        let spread = NodeCostPlan.spread(perShard: topicsPerShard, over: map)
        guard spread.count == 3, spread.allSatisfy({ $0.count == topicsPerShard }) else {
            throw LoadError("expected 3 shards of \(topicsPerShard) topics, found \(spread.map(\.count))")
        }
        say(
            "work folder \(folder); redis-server 127.0.0.1:\(single.port); Cluster "
                + cluster.nodes.map { "127.0.0.1:\($0.port)" }.joined(separator: ","))

        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let shardConfigurations = map.shards.map { RedisConfiguration(endpoint: $0.primary.endpoint) }
        let clusterURL = "redis-cluster://" + cluster.nodes.map { "127.0.0.1:\($0.port)" }.joined(separator: ",")
        let runs = [
            NodeCostRun(
                redisURL: single.url, shards: [single.configuration], sharded: false,
                redisProcessIDs: [single.processID],
                plan: NodeCostPlan(shards: spread, clustered: false, streams: streams, events: events), rate: rate,
                payloadSize: payloadSize, workspace: workspace, group: group, label: "one-redis"),
            NodeCostRun(
                redisURL: clusterURL, shards: shardConfigurations, sharded: true,
                redisProcessIDs: cluster.nodes.map(\.processID),
                plan: NodeCostPlan(shards: spread, clustered: true, streams: streams, events: events), rate: rate,
                payloadSize: payloadSize, workspace: workspace, group: group, label: "three-shards"),
        ]
        let report: NodeCostReport
        do {
            report = try await measure(runs)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
        if !jsonOnly { print(report.table + "\n") }
        print(report.json)
    }

    /// The rounds, alternating which topology goes first.
    private func measure(_ runs: [NodeCostRun]) async throws -> NodeCostReport {
        var report = NodeCostReport(
            description:
                "sse-load topology: \(streams) streams on \(3 * topicsPerShard) topics (\(topicsPerShard) per shard), "
                + "\(events) reliable events at \(rate)/s, \(payloadSize)-byte data, \(rounds) rounds")
        for round in 1...rounds {
            for index in round % 2 == 1 ? [0, 1] : [1, 0] {
                let result = try await runs[index].run()
                if index == 0 { report.single.append(result) } else { report.cluster.append(result) }
                say(
                    "round \(round) \(result.topology): delivered \(result.delivered)/\(result.expected), gateway "
                        + String(format: "%.3f", result.gatewayMicrosecondsPerDelivery ?? .nan) + " µs/delivery, Redis "
                        + String(format: "%.3f", result.redisMicrosecondsPerDelivery ?? .nan) + " µs/delivery, p99 "
                        + "\(result.latencyP99Microseconds.map { String($0) } ?? "-") µs")
            }
        }
        return report
    }

    private func say(_ line: String) {
        guard !jsonOnly else { return }
        FileHandle.standardError.write(Data(("topology: " + line + "\n").utf8))
    }
}
