import ArgumentParser
import Foundation
import LocalRedis
import NIOCore
import NIOPosix
import RedisClient

/// `redis-bench`: measures our Redis client against the tools that ship with Redis, on the same server.
///
/// 1. PUBLISH throughput: redis-benchmark and our publisher alternate for `--rounds` rounds.
/// 2. Subscriber decode rate: redis-benchmark publishes while our ``RedisSubscriber`` (and, as a second peer,
///    `redis-cli subscribe`) receives.
/// 3. `--only topology`: the reliable-publish ceiling and Redis CPU per event on one redis-server and on a Cluster
///    of three primaries, with plain PUBLISH on the one server as the reference (``TopologyBenchmark``).
/// Without `--redis-url` it starts its own redis-server on a free loopback port and stops it at the end.
@main
struct RedisBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redis-bench",
        abstract: "Compare our Redis client with redis-benchmark (PUBLISH) and redis-cli (SUBSCRIBE).")

    @Option(name: .customLong("redis-url"), help: "Use this server instead of starting one (redis:// or unix://).")
    var redisURL: String?

    @Option(help: "Parallel connections, like redis-benchmark -c.")
    var connections = 8

    @Option(help: "Commands per batch, like redis-benchmark -P.")
    var pipeline = 32

    @Option(help: "PUBLISH commands per measured run, like redis-benchmark -n.")
    var requests = 2_000_000

    @Option(name: .customLong("payload-bytes"), help: "Bytes per published message.")
    var payloadBytes = 64

    @Option(help: "Rounds per measurement; medians are reported.")
    var rounds = 3

    @Option(name: .customLong("event-loop-threads"), help: "Threads of our client's event-loop group.")
    var eventLoopThreads = 1

    @Option(name: .customLong("phase-timeout"), help: "Seconds any single phase may take.")
    var phaseTimeout = 120

    @Flag(name: .customLong("skip-redis-cli"), help: "Do not measure redis-cli as a second subscriber peer.")
    var skipRedisCLI = false

    @Flag(name: .customLong("json-only"), help: "Print only the final JSON line.")
    var jsonOnly = false

    @Option(name: .customLong("reliable-requests"), help: "Reliable publishes per run of --only topology.")
    var reliableRequests = 300_000

    @Option(name: .customLong("topics-per-shard"), help: "Topics on each of the three shards with --only topology.")
    var topicsPerShard = 16

    /// Runs one comparison alone, e.g. to profile it with `perf record`.
    @Option(help: "Run only this comparison: publish, subscribe, or topology (not part of a run of all).")
    var only: Comparison?

    enum Comparison: String, ExpressibleByArgument {
        case publish, subscribe, topology
    }

    func validate() throws {
        for (name, value) in [
            ("connections", connections), ("pipeline", pipeline), ("requests", requests),
            ("payload-bytes", payloadBytes), ("rounds", rounds), ("event-loop-threads", eventLoopThreads),
            ("phase-timeout", phaseTimeout), ("reliable-requests", reliableRequests),
            ("topics-per-shard", topicsPerShard),
        ] where value < 1 {
            throw ValidationError("--\(name) must be at least 1, got \(value)")
        }
        if only == .topology, redisURL != nil {
            throw ValidationError("--only topology starts its own server and Cluster: leave out --redis-url")
        }
    }

    func run() async throws {
        var settings = BenchmarkSettings()
        settings.connections = connections
        settings.pipeline = pipeline
        settings.requests = requests
        settings.payloadBytes = payloadBytes
        settings.rounds = rounds
        settings.eventLoopThreads = eventLoopThreads
        settings.phaseTimeout = .seconds(phaseTimeout)
        settings.includeRedisCLI = !skipRedisCLI
        if only == .topology { return try await runTopology(settings) }

        let server: LocalRedisServer?
        let redis: RedisConfiguration
        if let redisURL {
            server = nil
            redis = try RedisConfiguration(url: redisURL)
            progress("using \(redis.displayURL); pub/sub output-buffer limits are the server's own")
        } else {
            // Redis' default (pubsub 32mb 8mb 60) would disconnect a subscriber that falls behind by a few hundred
            // thousand messages; unlimited lets a slow peer show its own rate instead of being cut off.
            let limit = ["--client-output-buffer-limit", "pubsub 0 0 0"]
            let local = try await LocalRedisServer.start(LocalRedisServer.Options(extraArguments: limit))
            server = local
            redis = local.configuration
            progress("started redis-server on 127.0.0.1:\(local.port) with client-output-buffer-limit pubsub 0 0 0")
        }

        let interruptSources = Self.stopChildrenOnInterrupt(server: server)
        defer { for source in interruptSources { source.cancel() } }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: settings.eventLoopThreads)
        do {
            let report = try await measure(settings, redis: redis, group: group)
            if !jsonOnly { print(report.table + "\n") }
            print(report.json)
        } catch {
            try? await group.shutdownGracefully()
            server?.kill()
            throw error
        }
        try await group.shutdownGracefully()
        // SIGKILL, not `stop()`: the server keeps no data, and LocalRedis spawns it with the signal mask of the
        // spawning concurrency-pool thread, where SIGTERM is blocked, so a SIGTERM would wait forever.
        server?.kill()
    }

    private func measure(
        _ settings: BenchmarkSettings, redis: RedisConfiguration, group: MultiThreadedEventLoopGroup
    ) async throws -> BenchmarkReport {
        let tool = RedisBenchmarkTool(configuration: redis)
        let publisher = PublishBenchmark(configuration: redis, group: group, settings: settings)
        let subscribers = SubscribeBenchmark(configuration: redis, group: group, settings: settings, tool: tool)
        var report = BenchmarkReport(settings: settings)
        if !settings.includeRedisCLI { report.redisCLISkipped = "--skip-redis-cli" }

        for round in 1...settings.rounds where only != .subscribe {
            // Alternating who goes first keeps warm-up and server state from favouring one side.
            for oursTurn in round % 2 == 1 ? [false, true] : [true, false] {
                if oursTurn {
                    report.publishOurs.append(try await publisher.run())
                    progress("round \(round): ours PUBLISH \(Int(report.publishOurs.last!)) req/s")
                } else {
                    let rate = try await tool.publish(channel: settings.publishChannel, settings: settings)
                    report.publishReference.append(rate)
                    progress("round \(round): redis-benchmark PUBLISH \(Int(rate)) req/s")
                }
            }
        }

        for round in 1...settings.rounds where only != .publish {
            for oursTurn in round % 2 == 1 ? [true, false] : [false, true] {
                if oursTurn {
                    let result = try await subscribers.runOurs()
                    report.subscribeOurs.append(result)
                    progress("round \(round): our subscriber \(describe(result))")
                } else if report.redisCLISkipped == nil {
                    do {
                        let result = try await subscribers.runRedisCLI()
                        report.subscribeRedisCLI.append(result)
                        progress("round \(round): redis-cli subscriber \(describe(result))")
                    } catch {
                        report.redisCLISkipped = "redis-cli peer failed: \(error)"
                        report.subscribeRedisCLI = []
                        progress("skipping the redis-cli peer: \(error)")
                    }
                }
            }
        }
        return report
    }

    /// `--only topology`: its servers are its own (stopped when it ends, or by the interrupt handler).
    private func runTopology(_ settings: BenchmarkSettings) async throws {
        let interruptSources = Self.stopChildrenOnInterrupt(server: nil)
        defer { for source in interruptSources { source.cancel() } }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: settings.eventLoopThreads)
        let benchmark = TopologyBenchmark(
            settings: settings, group: group, requests: reliableRequests, topicsPerShard: topicsPerShard,
            progress: progress)
        let report: TopologyReport
        do {
            report = try await benchmark.run()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
        if !jsonOnly { print(report.table + "\n") }
        print(report.json)
    }

    private func describe(_ round: SubscribeRound) -> String {
        let rate = round.messagesPerSecond.map { "\(Int($0)) msg/s" } ?? "no rate"
        return "\(rate), publisher \(Int(round.publishRequestsPerSecond)) req/s, received \(round.received), "
            + "lost \(round.lost), disconnects \(round.disconnects)"
    }

    /// Progress goes to stderr so stdout holds only the table and the JSON line.
    private func progress(_ line: String) {
        guard !jsonOnly else { return }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
