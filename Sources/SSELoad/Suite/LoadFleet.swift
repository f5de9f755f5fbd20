import Foundation
import LocalRedis

#if canImport(Glibc)
    import Glibc
#endif

/// The `sse-load subscribe` processes of one measurement: as many as the 20,000-file limit per process needs, spread
/// over the system's entries (nodes), each writing a ready file once its streams are open and its result (one
/// JSON line) when it ends.
final class LoadFleet {
    private(set) var processes: [ChildProcess] = []
    private var bases: [String] = []

    /// Starts subscribers for `streams` streams of `topic` on `system`, `duration` seconds at most.
    ///
    /// Streams are split over entries first (each node gets its share), then over processes of at most
    /// ``SuiteSizes/streamsPerProcess``. With `topics` > 0 each stream has its own topic `topic-<n>`, numbered
    /// consecutively across processes.
    static func start(
        streams: Int, topic: String, topics: Int = 0, on system: RunningSystem, duration: Int, tag: String,
        extra: [String] = [], in workspace: SuiteWorkspace
    ) throws -> LoadFleet {
        let fleet = LoadFleet()
        let entries = system.entryPorts.count
        var firstTopic = 0
        for entry in 0..<entries {
            let share = streams / entries + (entry < streams % entries ? 1 : 0)
            let count = (share + SuiteSizes.streamsPerProcess - 1) / SuiteSizes.streamsPerProcess
            for index in 0..<count {
                let connections = share / count + (index < share % count ? 1 : 0)
                let base = workspace.work + "/load/\(tag)-sub-\(entry)-\(index)"
                try? FileManager.default.removeItem(atPath: base + ".ready")
                var arguments = [
                    "subscribe", "--url", system.streamURL(topic: topic, entry: entry), "--connections",
                    String(connections), "--duration", String(duration), "--ready-file", base + ".ready",
                ]
                if topics > 0 { arguments += ["--topics", String(connections), "--first-topic", String(firstTopic)] }
                firstTopic += connections
                workspace.record([workspace.load] + arguments + extra, output: base + ".out")
                let child = try ChildProcess(
                    workspace.load, arguments + extra, output: .files(output: base + ".out", error: base + ".err"))
                fleet.processes.append(child)
                fleet.bases.append(base)
            }
        }
        return fleet
    }

    var pids: [pid_t] { processes.compactMap(\.processID) }

    /// Waits until every process has opened its streams (or failed them), or one exited early.
    func waitUntilOpen(timeout: Duration) async throws {
        try await waitUntil(
            "\(bases.count) load processes to open their streams", timeout: timeout, every: .milliseconds(50)
        ) {
            for (index, base) in bases.enumerated() where !FileManager.default.fileExists(atPath: base + ".ready") {
                if processes[index].reapIfExited() != nil {
                    let error = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
                    throw SuiteError("a load process exited before its streams were open: \(error.suffix(600))")
                }
                return false
            }
            return true
        }
    }

    /// SIGINT to every process: they close their streams and print their results.
    func interrupt() {
        for process in processes { process.signal(SIGINT) }
    }

    /// Waits for every process to end (SIGKILL after `timeout`).
    func finish(timeout: Duration) async {
        let deadline = ContinuousClock.now + timeout
        for process in processes {
            let left = max(.seconds(1), deadline - ContinuousClock.now)
            if await process.exit(within: left) == nil { process.kill() }
        }
    }

    /// The processes' results merged; `published` is the count each stream should have received.
    func result(published: UInt64?) -> SubscribeResult? {
        let results = bases.compactMap { base -> SubscribeResult? in
            guard let line = try? MergeCommand.lastJSONLine(in: base + ".out") else { return nil }
            return try? SubscribeResult.decode(jsonLine: line)
        }
        guard results.count == bases.count else { return nil }
        return SubscribeResult.merged(results, published: published)
    }
}
