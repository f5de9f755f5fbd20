/// What one `redis-bench` run does; every field is set from one flag of ``RedisBenchCommand``.
///
/// Both sides of each comparison read the same settings, so ours and redis-benchmark always use the same number of
/// connections, pipeline depth, request count and payload.
struct BenchmarkSettings: Sendable {
    /// Parallel connections (redis-benchmark `-c`). Default 8.
    var connections = 8
    /// Commands sent back to back before waiting for their replies (redis-benchmark `-P`). Default 32.
    var pipeline = 32
    /// PUBLISH commands per measured run, over all connections (redis-benchmark `-n`). Default 2,000,000.
    var requests = 2_000_000
    /// Size of each published message in bytes. Default 64.
    var payloadBytes = 64
    /// How often each measurement is repeated; the median is reported. Default 3.
    var rounds = 3
    /// Threads of our client's event-loop group. Default 1, like redis-benchmark's single event loop.
    var eventLoopThreads = 1
    /// Upper bound for any single phase (one redis-benchmark run, one run of ours, one subscriber drain).
    var phaseTimeout: Duration = .seconds(120)
    /// After the publisher exits, how long a subscriber may go without receiving anything before the rest of its
    /// messages count as lost.
    var drainIdleTimeout: Duration = .seconds(10)
    /// Whether to also measure `redis-cli subscribe` as a subscriber peer.
    var includeRedisCLI = true

    /// Channel of the PUBLISH throughput comparison (nobody subscribes to it).
    let publishChannel = "benchchan"
    /// Channel the subscriber comparison publishes to.
    let subscribeChannel = "benchsub"

    /// The message body: printable letters and digits only, so it survives redis-benchmark's argument handling and
    /// keeps redis-cli's output at exactly one line per message element.
    var payload: [UInt8] {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)
        return (0..<payloadBytes).map { alphabet[$0 % alphabet.count] }
    }

    /// The payload as a command-line argument.
    var payloadText: String { String(decoding: payload, as: UTF8.self) }
}
