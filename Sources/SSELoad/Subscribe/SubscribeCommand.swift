import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import ServerSupport

/// `sse-load subscribe`: opens N event streams, holds them, and reports what they received.
struct SubscribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subscribe",
        abstract: "Open many SSE streams, check payload sequences for gaps and duplicates, measure latency.")

    @Option(help: "Stream URL, e.g. http://127.0.0.1:8080/sse?topic=s1 or http://127.0.0.1:8081/sub/s1.")
    var url: String
    @Option(help: "Streams to open (each is one file descriptor; the process limit bounds it).")
    var connections = 1000
    @Option(help: "Event-loop threads.") var threads = System.coreCount
    @Option(help: "Streams being opened at once.") var connectConcurrency = 500
    @Option(help: "Loopback source addresses to spread streams over (127.0.0.1…; 0: let the kernel choose).")
    var sourceAddresses = 254
    @Option(help: "Seconds a stream may take to get its response head.") var headTimeout = 15.0
    @Option(help: "Seconds to hold the streams after they are open (the longest the run lasts).")
    var duration = 30.0
    @Option(help: "End early once no event has arrived for this many seconds (0: never); see --armed-by.")
    var idleExit = 0.0
    @Option(
        help:
            "Count --idle-exit only once this file exists (a script creates it when its publisher is done), so a stall mid-run does not end the run."
    )
    var armedBy: String?
    @Option(help: "File written (JSON) once every stream is open or has failed, for scripts to wait on.")
    var readyFile: String?
    @Option(help: "Extra request header, \"Name: value\" (repeatable).") var header: [String] = []
    @Option(
        help: "Streams on this many topics: stream i appends -<first-topic + i % topics> to the URL (0: one topic).")
    var topics = 0
    @Option(help: "Number of the first topic with --topics (load processes side by side take consecutive ranges).")
    var firstTopic = 0

    func run() async throws {
        StopSignal.install()
        let files = ProcessLimits.raiseFileLimit()
        guard connections + 64 <= files else {
            throw LoadError(
                "\(connections) streams need about \(connections + 64) open files, the limit here is \(files): "
                    + "run several sse-load processes and merge their results")
        }
        let target = try StreamTarget(url: url)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
        var tallies: [ObjectIdentifier: NIOLoopBound<DeliveryTally>] = [:]
        var loops: [any EventLoop] = []
        for loop in group.makeIterator() {
            loops.append(loop)
            tallies[ObjectIdentifier(loop)] = try await loop.submit { NIOLoopBound(DeliveryTally(), eventLoop: loop) }
                .get()
        }
        let opener = StreamOpener(
            target: target,
            requests: topics > 0
                ? (0..<topics).map { target.streamRequest(extraHeaders: header, topicSuffix: "-\(firstTopic + $0)") }
                : [target.streamRequest(extraHeaders: header)],
            tallies: tallies,
            sourceAddresses: try StreamOpener.loopbackSources(count: sourceAddresses),
            headTimeout: .milliseconds(Int64(headTimeout * 1000)))

        let started = ContinuousClock.now
        let (channels, failures) = await openAll(opener, loops: loops)
        let connectSeconds = Self.seconds(ContinuousClock.now - started)
        let failed = failures.values.reduce(0, +)
        FileHandle.standardError.write(
            Data("sse-load: \(channels.count) streams open, \(failed) failed, in \(connectSeconds) s\n".utf8))
        if let readyFile {
            let text = "{\"connected\":\(channels.count),\"failed\":\(failed),\"connect_seconds\":\(connectSeconds)}\n"
            try Data(text.utf8).write(to: URL(fileURLWithPath: readyFile), options: .atomic)
        }

        let commentsAtArmed = try await hold(loops: loops, tallies: tallies)

        var counts = DeliveryCounts()
        for loop in loops {
            let tally = tallies[ObjectIdentifier(loop)]!
            counts.merge(
                try await loop.submit {
                    tally.value.stopping = true
                    return tally.value.counts
                }.get())
        }
        var result = SubscribeResult(
            url: url, requested: connections, connected: channels.count, failed: failed,
            connectSeconds: connectSeconds, cpuSeconds: Clock.processCPUSeconds(), counts: counts, failures: failures)
        if let commentsAtArmed, armedBy != nil { result.commentsAfterArmed = counts.comments - commentsAtArmed }
        print(result.table)
        print(result.jsonLine)

        for channel in channels { channel.close(promise: nil) }
        try? await EventLoopFuture.andAllComplete(channels.map(\.closeFuture), on: loops[0]).get()
        try await group.shutdownGracefully()
    }

    /// Opens every stream, at most `connectConcurrency` at a time, spread round-robin over the loops.
    private func openAll(_ opener: StreamOpener, loops: [any EventLoop]) async -> ([any Channel], [String: Int]) {
        var channels: [any Channel] = []
        var failures: [String: Int] = [:]
        channels.reserveCapacity(connections)
        await withTaskGroup(of: Result<any Channel, any Error>.self) { group in
            var next = 0
            var running = 0
            func collect(_ result: Result<any Channel, any Error>?) {
                switch result {
                case .success(let channel): channels.append(channel)
                case .failure(let error): failures[String("\(error)".prefix(80)), default: 0] += 1
                case nil: break
                }
            }
            while next < connections || running > 0 {
                while next < connections, running < max(1, connectConcurrency) {
                    let index = next
                    let loop = loops[index % loops.count]
                    group.addTask {
                        do { return .success(try await opener.open(index: index, on: loop)) } catch {
                            return .failure(error)
                        }
                    }
                    next += 1
                    running += 1
                }
                collect(await group.next())
                running -= 1
            }
        }
        return (channels, failures)
    }

    /// Waits for the end of the run: the duration, a quiet spell (`--idle-exit`, counted from the last event or
    /// from when `--armed-by` appeared, whichever is later), or SIGINT/SIGTERM.
    ///
    /// Returns the comments received when `--armed-by` appeared (polled every 100 ms), so that a script measuring
    /// over a window it opens by creating that file can count the heartbeats of its window alone.
    private func hold(loops: [any EventLoop], tallies: [ObjectIdentifier: NIOLoopBound<DeliveryTally>]) async throws
        -> UInt64?
    {
        let deadline = ContinuousClock.now + .milliseconds(Int64(duration * 1000))
        var armedAt: UInt64? = armedBy == nil ? Clock.wallNanoseconds() : nil
        var commentsAtArmed: UInt64? = nil
        while ContinuousClock.now < deadline, !StopSignal.isRaised {
            try await Task.sleep(for: .milliseconds(100))
            if armedAt == nil, let armedBy, FileManager.default.fileExists(atPath: armedBy) {
                armedAt = Clock.wallNanoseconds()
                var comments: UInt64 = 0
                for loop in loops {
                    let tally = tallies[ObjectIdentifier(loop)]!
                    comments += try await loop.submit { tally.value.counts.comments }.get()
                }
                commentsAtArmed = comments
            }
            guard idleExit > 0, let armedAt else { continue }
            var lastEvent: UInt64 = 0
            for loop in loops {
                let tally = tallies[ObjectIdentifier(loop)]!
                lastEvent = max(lastEvent, try await loop.submit { tally.value.counts.lastEventNanoseconds }.get())
            }
            if Clock.wallNanoseconds() > max(lastEvent, armedAt) + UInt64(idleExit * 1e9) { break }
        }
        return commentsAtArmed
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
