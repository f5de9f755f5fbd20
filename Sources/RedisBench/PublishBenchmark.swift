import NIOCore
import RedisClient
import Synchronization

/// Our side of the PUBLISH comparison: `connections` connections, each sending batches of `pipeline` PUBLISH
/// commands and waiting for the whole batch before sending the next — the shape of `redis-benchmark -c C -P 32`.
///
/// Every command is built and encoded afresh (no cached bytes), so the run measures what an application pays per
/// publish. Batches are chained on each connection's event loop with futures rather than `await`, so the figure is
/// the client library's cost, not the cost of hopping between the event loop and the concurrency pool.
struct PublishBenchmark: Sendable {
    let configuration: RedisConfiguration
    let group: any EventLoopGroup
    let settings: BenchmarkSettings

    /// Requests/s over the wall-clock time from the first send to the last reply, after checking every reply.
    func run() async throws -> Double {
        var connections: [RedisConnection] = []
        defer { for connection in connections { connection.closeNow() } }
        for _ in 0..<settings.connections {
            connections.append(try await RedisConnection.connect(configuration: configuration, eventLoop: group.next()))
        }

        let shares = Self.split(settings.requests, into: connections.count)
        let timedOut = Atomic<Bool>(false)
        let limit = settings.phaseTimeout
        let timers = connections.map { connection in
            connection.eventLoop.scheduleTask(in: limit.timeAmount) {
                timedOut.store(true, ordering: .relaxed)
                connection.closeNow()
            }
        }
        defer { for timer in timers { timer.cancel() } }

        let start = ContinuousClock.now
        let runs = zip(connections, shares).map { connection, share in
            let channel = settings.publishChannel
            let payload = settings.payload
            let pipeline = settings.pipeline
            return connection.eventLoop.flatSubmit {
                let stream = PublishStream(
                    connection: connection, pipeline: pipeline, total: share,
                    makeCommand: { _ in RedisCommand("PUBLISH", channel, payload) }, accepts: PublishStream.isInteger)
                stream.sendNextBatch()
                return stream.done.futureResult
            }
        }
        let tallies: [PublishTally]
        do {
            tallies = try await EventLoopFuture.whenAllSucceed(runs, on: group.any()).get()
        } catch {
            if timedOut.load(ordering: .relaxed) {
                throw BenchmarkError.timedOut(phase: "our PUBLISH run", limit: limit)
            }
            throw error
        }
        let elapsed = ContinuousClock.now - start

        let integers = tallies.reduce(0) { $0 + $1.integers }
        let others = tallies.reduce(0) { $0 + $1.others }
        guard others == 0, integers == settings.requests else {
            let sample = tallies.compactMap(\.sample).first ?? "none (\(integers) integer replies)"
            throw BenchmarkError.errorReplies(count: others, expected: settings.requests, sample: sample)
        }
        return Double(settings.requests) / elapsed.seconds
    }

    /// `total` split as evenly as possible, like redis-benchmark spreads `-n` over its clients.
    static func split(_ total: Int, into parts: Int) -> [Int] {
        (0..<parts).map { index in total / parts + (index < total % parts ? 1 : 0) }
    }
}

/// What one connection saw: how many replies were the expected kind (the receiver count PUBLISH returns, an id for
/// a reliable publish) and how many not. `integers` names the expected ones for the PUBLISH comparison.
struct PublishTally: Sendable {
    var integers = 0
    var others = 0
    /// The first non-integer reply, for the error message.
    var sample: String?
}

/// One connection's share of a publish run; confined to the connection's event loop.
///
/// `makeCommand(n)` builds the connection's n-th command afresh (PUBLISH, or a reliable `FCALL sse_publish` whose
/// topic depends on n) and `accepts` says whether a reply is the expected one, so the plain and the reliable
/// publish ceilings are measured by the same loop.
final class PublishStream {
    let connection: RedisConnection
    let pipeline: Int
    let makeCommand: (Int) -> RedisCommand
    let accepts: (RedisReply) -> Bool
    private var remaining: Int
    private var sent = 0
    private var tally = PublishTally()
    let done: EventLoopPromise<PublishTally>

    init(
        connection: RedisConnection, pipeline: Int, total: Int, makeCommand: @escaping (Int) -> RedisCommand,
        accepts: @escaping (RedisReply) -> Bool
    ) {
        self.connection = connection
        self.pipeline = pipeline
        self.remaining = total
        self.makeCommand = makeCommand
        self.accepts = accepts
        self.done = connection.eventLoop.makePromise()
    }

    /// PUBLISH answers the number of receivers.
    static func isInteger(_ reply: RedisReply) -> Bool {
        if case .integer = reply { return true }
        return false
    }

    /// Builds and sends the next batch; its completion sends the one after, until the share is done.
    func sendNextBatch() {
        let count = min(pipeline, remaining)
        guard count > 0 else {
            done.succeed(tally)
            return
        }
        remaining -= count
        var commands: [RedisCommand] = []
        commands.reserveCapacity(count)
        for _ in 0..<count {
            commands.append(makeCommand(sent))
            sent += 1
        }
        connection.pipelineFuture(commands).assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success(let replies):
                for reply in replies {
                    if accepts(reply) {
                        tally.integers += 1
                    } else {
                        tally.others += 1
                        if tally.sample == nil { tally.sample = "\(reply)" }
                    }
                }
                sendNextBatch()
            case .failure(let error):
                done.fail(error)
            }
        }
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// The same span for NIO's timers.
    var timeAmount: TimeAmount { .nanoseconds(Int64(seconds * 1e9)) }
}
