import Foundation
import LocalRedis
import NIOCore
import NIOPosix
import RedisClient
import SSEHistory
import SSEProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// One topology's run of `sse-load topology`: a real `sse-gateway` on the topology's Redis, `plan.streams` streams
/// opened in this process (``StreamOpener``, ``BenchmarkStream``), one warm-up event per topic until every stream
/// has one (so every subscription is in place, on every shard), then `plan.events` reliable events published at
/// `rate` straight to each topic's shard, and the deliveries awaited.
///
/// The gateway's CPU time (and Redis's) is taken from the first measured publish until the last delivery; the
/// warm-up and the opening of the streams are outside it.
struct NodeCostRun {
    /// `redis-cluster://…` or `redis://…`, for the gateway.
    let redisURL: String
    /// Where each shard's primary listens (one entry on one Redis), in the plan's shard order.
    let shards: [RedisConfiguration]
    let sharded: Bool
    let redisProcessIDs: [pid_t]
    let plan: NodeCostPlan
    let rate: Int
    let payloadSize: Int
    let workspace: SuiteWorkspace
    let group: MultiThreadedEventLoopGroup
    let label: String
    /// How long deliveries may stop arriving before the rest count as missing.
    var idleTimeout: Duration = .seconds(10)
    /// The quiet window before the publishes in which the idle CPU (slot-map refreshes, link probes, the cluster
    /// bus, timers) is measured, so the fixed costs of a topology are seen apart from the cost per delivery.
    var idleWindow: Duration = .seconds(2)

    func run() async throws -> NodeCostResult {
        let port = try freeLoopbackPort()
        let gateway = try workspace.start(
            workspace.gateway,
            [
                "--host", "127.0.0.1", "--port", String(port), "--redis-url", redisURL, "--node-id", "bench-\(label)",
                "--heartbeat", "30", "--max-connections", String(SuiteSizes.fileLimit),
                "--max-streams-per-client", "0", "--new-streams-per-second", "0", "--log-level", "warning",
            ], log: "topology-\(label)")
        defer { gateway.kill() }
        try await waitUntil("the gateway on \(label) /readyz", timeout: .seconds(30), every: .milliseconds(100)) {
            guard gateway.reapIfExited() == nil else {
                throw SuiteError("the gateway exited at start: \(workspace.tail(ofLog: "topology-\(label)"))")
            }
            guard ProcessStats.listens(gateway.processID ?? 0, on: port) else { return false }
            return await workspace.answers("http://127.0.0.1:\(port)/readyz")
        }

        let loops = Array(group.makeIterator())
        var tallies: [ObjectIdentifier: NIOLoopBound<DeliveryTally>] = [:]
        for loop in loops {
            tallies[ObjectIdentifier(loop)] = try await loop.submit { NIOLoopBound(DeliveryTally(), eventLoop: loop) }
                .get()
        }
        let target = try StreamTarget(url: "http://127.0.0.1:\(port)/sse?topic=")
        let opener = StreamOpener(
            target: target,
            requests: plan.topics.map { target.streamRequest(extraHeaders: [], topicSuffix: $0.name) },
            tallies: tallies, sourceAddresses: try StreamOpener.loopbackSources(count: 4),
            headTimeout: .seconds(15))
        var channels: [any Channel] = []
        defer { for channel in channels { channel.close(promise: nil) } }
        for index in 0..<plan.streams {
            channels.append(try await opener.open(index: index, on: loops[index % loops.count]))
        }

        var connections: [RedisConnection] = []
        defer { for connection in connections { connection.closeNow() } }
        for shard in shards { connections.append(try await RedisConnection.connect(configuration: shard)) }

        // Warm-up: one event that is not a benchmark payload per topic, in rounds, until one round reaches every
        // stream (a stream gets at most one event per round, so then every subscription is in place).
        var warmUps = try await Self.counts(loops, tallies).unparsed
        try await waitUntil("every stream on \(label) receiving a warm-up event", timeout: .seconds(30), every: .zero) {
            try await publish(plan.topics.indices.map { ($0, Array("warm-up".utf8)) }, on: connections)
            let deadline = ContinuousClock.now + .seconds(2)
            var received: UInt64 = 0
            while ContinuousClock.now < deadline, received < UInt64(plan.streams) {
                try await Task.sleep(for: .milliseconds(20))
                received = try await Self.counts(loops, tallies).unparsed - warmUps
            }
            // Stragglers of this round arrive before the next round is counted.
            try await Task.sleep(for: .milliseconds(100))
            let total = try await Self.counts(loops, tallies).unparsed
            defer { warmUps = total }
            return received >= UInt64(plan.streams)
        }
        let before = try await Self.counts(loops, tallies)

        let gatewayPID = gateway.processID ?? 0
        let (gatewayIdle, redisIdle) = (ProcessStats.cpuSeconds([gatewayPID]), ProcessStats.cpuSeconds(redisProcessIDs))
        let idleStart = ContinuousClock.now
        try await Task.sleep(for: idleWindow)
        let idleSeconds = (ContinuousClock.now - idleStart).seconds
        let gatewayIdleShare = (ProcessStats.cpuSeconds([gatewayPID]) - gatewayIdle) / idleSeconds
        let redisIdleShare = (ProcessStats.cpuSeconds(redisProcessIDs) - redisIdle) / idleSeconds
        let gatewayBefore = ProcessStats.cpuSeconds([gatewayPID])
        let redisBefore = ProcessStats.cpuSeconds(redisProcessIDs)
        let publishSeconds = try await publishPaced(on: connections)
        let expected = UInt64(plan.expectedDeliveries)
        var last = try await Self.counts(loops, tallies)
        var lastChange = ContinuousClock.now
        while (last.events - last.unparsed) - (before.events - before.unparsed) < expected,
            ContinuousClock.now - lastChange < idleTimeout
        {
            try await Task.sleep(for: .milliseconds(20))
            let now = try await Self.counts(loops, tallies)
            if now.events != last.events { lastChange = .now }
            last = now
        }
        let gatewayCPU = ProcessStats.cpuSeconds([gatewayPID]) - gatewayBefore
        let redisCPU = ProcessStats.cpuSeconds(redisProcessIDs) - redisBefore
        for loop in loops {
            let tally = tallies[ObjectIdentifier(loop)]!
            try await loop.submit { tally.value.stopping = true }.get()
        }
        return NodeCostResult(
            topology: label, delivered: (last.events - last.unparsed) - (before.events - before.unparsed),
            expected: plan.expectedDeliveries,
            gaps: last.gaps - before.gaps, duplicates: last.duplicates - before.duplicates,
            dropped: last.dropped - before.dropped, gatewayCPUSeconds: gatewayCPU, redisCPUSeconds: redisCPU,
            publishRate: Double(plan.events) / publishSeconds,
            latencyP50Microseconds: last.latency.value(atFraction: 0.5),
            latencyP99Microseconds: last.latency.value(atFraction: 0.99), gatewayIdleShare: gatewayIdleShare,
            redisIdleShare: redisIdleShare)
    }

    /// Publishes the plan's events at `rate`, in 10 ms ticks, each tick's events pipelined on their shards'
    /// connections; returns the seconds it took.
    private func publishPaced(on connections: [RedisConnection]) async throws -> Double {
        var sequences = Array(repeating: UInt64(0), count: plan.topics.count)
        let start = ContinuousClock.now
        var sent = 0
        while sent < plan.events {
            let due = min(plan.events, Int(Double(rate) * (ContinuousClock.now - start).seconds) + 1)
            var batch: [(Int, [UInt8])] = []
            let now = Clock.wallNanoseconds()
            while sent < due {
                let topic = plan.topicIndex(ofEvent: sent)
                sequences[topic] += 1
                batch.append((topic, Payload.make(sequence: sequences[topic], timestamp: now, size: payloadSize)))
                sent += 1
            }
            if !batch.isEmpty { try await publish(batch, on: connections) }
            if sent < plan.events { try await Task.sleep(for: .milliseconds(10)) }
        }
        return (ContinuousClock.now - start).seconds
    }

    /// One pipeline per shard of reliable publishes; every reply must be an event id.
    private func publish(_ events: [(topic: Int, data: [UInt8])], on connections: [RedisConnection]) async throws {
        var perShard = Array(repeating: [RedisCommand](), count: connections.count)
        for (topic, data) in events {
            perShard[plan.shardOfTopic[topic]].append(
                History.publishCommand(plan.topics[topic], event: nil, data: data, maxLength: 1000, sharded: sharded))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (connection, commands) in zip(connections, perShard) where !commands.isEmpty {
                group.addTask {
                    for reply in try await connection.pipeline(commands) {
                        _ = try History.eventID(fromPublishReply: reply)
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    private static func counts(_ loops: [any EventLoop], _ tallies: [ObjectIdentifier: NIOLoopBound<DeliveryTally>])
        async throws -> DeliveryCounts
    {
        var counts = DeliveryCounts()
        for loop in loops {
            let tally = tallies[ObjectIdentifier(loop)]!
            counts.merge(try await loop.submit { tally.value.counts }.get())
        }
        return counts
    }

}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
