import Foundation
import LocalRedis
import NIOCore
import RedisClient
import SSEHistory
import SSEProtocol

/// `redis-bench --only topology`: the reliable-publish ceiling and the Redis CPU it costs per event on one
/// redis-server and on a Cluster of three primaries (no replicas), both started here on loopback, with plain
/// PUBLISH on the one server as the reference of the same run.
///
/// The three measurements take turns within every round, in an order rotated from round to round, so warm-up and
/// the noise of a shared machine spread over all of them; the report gives medians. Both topologies publish on the
/// same topic names, chosen so that each shard owns the same number (``ShardTopics``).
struct TopologyBenchmark {
    let settings: BenchmarkSettings
    let group: any EventLoopGroup
    /// Reliable publishes per run.
    let requests: Int
    /// Topics per shard of the Cluster (the one server gets all of them).
    let topicsPerShard: Int
    let primaries = 3
    let progress: (String) -> Void

    func run() async throws -> TopologyReport {
        let single = try await LocalRedisServer.start()
        defer { single.kill() }
        var options = LocalRedisCluster.Options(primaries: primaries, replicasPerPrimary: 0)
        options.nodeTimeout = .seconds(5)
        let cluster = try await LocalRedisCluster.start(options)
        defer { cluster.stop() }
        progress(
            "started redis-server on 127.0.0.1:\(single.port) and a Cluster of \(primaries) primaries on "
                + cluster.nodes.map { "127.0.0.1:\($0.port)" }.joined(separator: ","))

        let map = try await cluster.slotMap()
        let spread = ShardTopics.spread(perShard: topicsPerShard, over: map)
        guard spread.count == primaries, spread.allSatisfy({ $0.count == topicsPerShard }) else {
            throw BenchmarkError.unsupportedEndpoint(
                "expected \(primaries) shards of \(topicsPerShard) topics, found \(spread.map(\.count))")
        }
        let shards = zip(map.shards, spread).map { shard, topics in
            ReliablePublishBenchmark.Shard(
                configuration: RedisConfiguration(endpoint: shard.primary.endpoint), topics: topics)
        }
        for shard in shards { try await Self.install(on: shard.configuration) }
        try await Self.install(on: single.configuration)

        let singlePIDs = [single.processID]
        let clusterPIDs = cluster.nodes.map(\.processID)
        let onOne = ReliablePublishBenchmark(
            shards: [
                ReliablePublishBenchmark.Shard(configuration: single.configuration, topics: spread.flatMap { $0 })
            ], sharded: false,
            processIDs: singlePIDs, group: group, settings: settings, requests: requests)
        let onCluster = ReliablePublishBenchmark(
            shards: shards, sharded: true, processIDs: clusterPIDs, group: group, settings: settings,
            requests: requests)
        let plain = PublishBenchmark(configuration: single.configuration, group: group, settings: settings)

        var report = TopologyReport(
            settings: settings, requests: requests, topics: topicsPerShard * primaries, shards: primaries)
        for round in 1...settings.rounds {
            let turns = [0, 1, 2].map { ($0 + round - 1) % 3 }
            for turn in turns {
                switch turn {
                case 0:
                    let before = ProcessCPU.microseconds(of: singlePIDs)
                    let rate = try await plain.run()
                    let cpu = ProcessCPU.microseconds(of: singlePIDs) - before
                    report.plain.append(
                        .init(eventsPerSecond: rate, redisMicrosecondsPerEvent: cpu / Double(settings.requests)))
                    progress("round \(round): PUBLISH on one server \(describe(report.plain.last!))")
                case 1:
                    report.single.append(try await onOne.run())
                    progress("round \(round): reliable on one server \(describe(report.single.last!))")
                default:
                    report.cluster.append(try await onCluster.run())
                    progress("round \(round): reliable on \(primaries) shards \(describe(report.cluster.last!))")
                }
            }
        }
        return report
    }

    private func describe(_ run: ReliablePublishBenchmark.Run) -> String {
        "\(Int(run.eventsPerSecond)) events/s, Redis \(String(format: "%.2f", run.redisMicrosecondsPerEvent)) µs/event"
    }

    /// Loads the `sse` library on one server (on a Cluster functions are per node, so on every primary).
    private static func install(on configuration: RedisConfiguration) async throws {
        let connection = try await RedisConnection.connect(configuration: configuration)
        defer { connection.closeNow() }
        try await connection.load(HistoryLibrary.library)
    }
}
