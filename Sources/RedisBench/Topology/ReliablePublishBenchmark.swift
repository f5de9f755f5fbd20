import NIOCore
import RedisClient
import SSEHistory
import SSEProtocol
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The reliable-publish ceiling of one topology: `connections` connections, each sending batches of `pipeline`
/// `FCALL sse_publish` (one Redis) or `FCALL sse_publish_sharded` (a Cluster) and waiting for the whole batch, the
/// shape of ``PublishBenchmark``. Every command is built afresh, as ``SSEHistory/History/publishCommand(_:event:data:maxLength:sharded:)``
/// builds it for the publisher.
///
/// On a Cluster connection `i` goes straight to the primary of shard `i % shards` and publishes only topics of
/// that shard, so no command is redirected and no client-side routing is measured: the figure is what the shards
/// themselves sustain.
struct ReliablePublishBenchmark: Sendable {
    /// One shard: where its primary listens and the topics it owns.
    struct Shard: Sendable {
        var configuration: RedisConfiguration
        var topics: [Topic]
    }

    /// What one run measured.
    struct Run: Sendable {
        var eventsPerSecond: Double
        /// `utime + stime` of the redis-server processes during the run, µs per event.
        var redisMicrosecondsPerEvent: Double
    }

    let shards: [Shard]
    /// `sse_publish_sharded` with per-topic clocks, or `sse_publish` with the shared clock.
    let sharded: Bool
    /// The redis-server processes whose CPU time is counted.
    let processIDs: [pid_t]
    let group: any EventLoopGroup
    let settings: BenchmarkSettings
    /// Publishes per run, over all connections.
    let requests: Int
    /// Entries each topic's history keeps (the publisher's default order of magnitude).
    let maxLength = 1000

    func run() async throws -> Run {
        var connections: [(RedisConnection, [Topic])] = []
        defer { for (connection, _) in connections { connection.closeNow() } }
        let perShard = PublishBenchmark.split(settings.connections, into: shards.count)
        for (shard, count) in zip(shards, perShard) where count > 0 {
            for index in 0..<count {
                let connection = try await RedisConnection.connect(
                    configuration: shard.configuration, eventLoop: group.next())
                connections.append(
                    (connection, ShardTopics.share(of: shard.topics, connection: index, of: count)))
            }
        }

        let shares = PublishBenchmark.split(requests, into: connections.count)
        let timedOut = Atomic<Bool>(false)
        let limit = settings.phaseTimeout
        let timers = connections.map { connection, _ in
            connection.eventLoop.scheduleTask(in: limit.timeAmount) {
                timedOut.store(true, ordering: .relaxed)
                connection.closeNow()
            }
        }
        defer { for timer in timers { timer.cancel() } }

        let cpuBefore = ProcessCPU.microseconds(of: processIDs)
        let start = ContinuousClock.now
        let runs = zip(connections, shares).map { pair, share in
            let (connection, topics) = pair
            let (payload, pipeline, maxLength, sharded) = (settings.payload, settings.pipeline, maxLength, sharded)
            return connection.eventLoop.flatSubmit {
                let stream = PublishStream(
                    connection: connection, pipeline: pipeline, total: share,
                    makeCommand: { index in
                        History.publishCommand(
                            topics[index % topics.count], event: nil, data: payload, maxLength: maxLength,
                            sharded: sharded)
                    }, accepts: Self.isEventID)
                stream.sendNextBatch()
                return stream.done.futureResult
            }
        }
        let tallies: [PublishTally]
        do {
            tallies = try await EventLoopFuture.whenAllSucceed(runs, on: group.any()).get()
        } catch {
            if timedOut.load(ordering: .relaxed) {
                throw BenchmarkError.timedOut(phase: "reliable publish run", limit: limit)
            }
            throw error
        }
        let elapsed = ContinuousClock.now - start
        let cpu = ProcessCPU.microseconds(of: processIDs) - cpuBefore

        let accepted = tallies.reduce(0) { $0 + $1.integers }
        let others = tallies.reduce(0) { $0 + $1.others }
        guard others == 0, accepted == requests else {
            let sample = tallies.compactMap(\.sample).first ?? "none (\(accepted) ids)"
            throw BenchmarkError.errorReplies(count: others, expected: requests, sample: sample)
        }
        return Run(
            eventsPerSecond: Double(requests) / elapsed.seconds, redisMicrosecondsPerEvent: cpu / Double(requests))
    }

    /// `sse_publish` answers the new event's id.
    static func isEventID(_ reply: RedisReply) -> Bool {
        (try? History.eventID(fromPublishReply: reply)) != nil
    }
}
