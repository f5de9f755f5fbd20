import Foundation
import LocalRedis

#if canImport(Glibc)
    import Glibc
#endif

/// Runs the scenarios, each system in turn (so load from elsewhere on the machine falls on all systems of a
/// scenario alike), every system started afresh for every scenario and stopped after it.
final class SuiteRunner {
    let workspace: SuiteWorkspace
    let sizes: SuiteSizes
    let heartbeat: Int
    private(set) var records: [BenchmarkRecord] = []
    /// Quiet seconds after the publisher is done before subscribers report (the tail of the delivery).
    static let idleExit = 2

    init(workspace: SuiteWorkspace, sizes: SuiteSizes, heartbeat: Int) {
        self.workspace = workspace
        self.sizes = sizes
        self.heartbeat = heartbeat
    }

    static func say(_ text: String) {
        FileHandle.standardError.write(Data("bench: \(text)\n".utf8))
    }

    /// Runs `scenarios` on `systems`, appending every record to `results` as it is made.
    func run(scenarios: [Scenario], systems: [BenchSystem], results: String) async throws {
        _ = FileManager.default.createFile(atPath: results, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: results))
        defer { try? output.close() }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        for scenario in scenarios where scenario != .s6 || !scenarios.contains(.s4) {
            for system in scenario.systems(from: systems) {
                for record in await measure(scenario, on: system, alsoS6: scenario == .s4 && scenarios.contains(.s6)) {
                    records.append(record)
                    try output.write(contentsOf: encoder.encode(record) + Data("\n".utf8))
                }
            }
        }
    }

    /// One scenario on one system; a failure becomes a record with a note (the run goes on).
    private func measure(_ scenario: Scenario, on system: BenchSystem, alsoS6: Bool) async -> [BenchmarkRecord] {
        let tag = "\(system.rawValue)-\(scenario.rawValue)"
        do {
            switch scenario {
            case .s1: return [try await delivery(.s1, sizes.s1, on: system, tag: tag)]
            case .s2: return [try await delivery(.s2, sizes.s2, on: system, tag: tag)]
            case .s3: return [try await delivery(.s3, sizes.s3, on: system, tag: tag)]
            case .s7: return [try await delivery(.s7, sizes.s7, on: system, tag: tag)]
            case .s4, .s6:
                var record = try await idle(scenario, streams: sizes.s4Streams, hold: 3, on: system, tag: tag)
                guard alsoS6 else { return [record] }
                var s6 = record
                s6.scenario = Scenario.s6.rawValue
                record.scenario = Scenario.s4.rawValue
                return [record, s6]
            case .s5: return [try await idle(.s5, streams: sizes.s5Streams, hold: sizes.s5Hold, on: system, tag: tag)]
            case .s8:
                return [try await idle(.s8, streams: 0, hold: sizes.s8Hold, on: system, tag: tag)]
            }
        } catch {
            Self.say("\(tag) failed: \(error)")
            let note = "\(error)".split(separator: "\n").first.map(String.init) ?? "failed"
            var records = [BenchmarkRecord(system: system.rawValue, scenario: scenario.rawValue, note: note)]
            if alsoS6 { records.append(BenchmarkRecord(system: system.rawValue, scenario: "S6", note: note)) }
            return records
        }
    }

    /// Starts the system, once more after a failure (a port taken between the check and the bind, a slow start on
    /// the busy machine).
    func start(_ system: BenchSystem, tag: String) async throws -> RunningSystem {
        do {
            return try await RunningSystem.start(system, tag: tag, heartbeat: heartbeat, in: workspace)
        } catch {
            Self.say("\(tag): \(system.rawValue) did not start (\(error)); trying once more")
            return try await RunningSystem.start(system, tag: tag + "-again", heartbeat: heartbeat, in: workspace)
        }
    }

    /// CPU seconds of each group of processes, and the machine's, at one moment.
    struct CPUSample {
        var server: Double
        var proxy: Double
        var redis: Double
        var load: Double
        var machine: Double
        var at = ContinuousClock.now

        init(_ system: RunningSystem, load: [pid_t]) {
            server = ProcessStats.cpuSeconds(system.serverPIDs)
            proxy = ProcessStats.cpuSeconds(system.proxyPIDs)
            redis = ProcessStats.cpuSeconds(system.redisPIDs)
            self.load = ProcessStats.cpuSeconds(load)
            machine = ProcessStats.machineBusySeconds()
        }
    }

    /// Fills the window's CPU figures of `record` from two samples.
    static func fill(_ record: inout BenchmarkRecord, from start: CPUSample, to end: CPUSample, system: RunningSystem) {
        record.serverCPUSeconds = end.server - start.server
        record.proxyCPUSeconds = system.proxy == nil ? nil : end.proxy - start.proxy
        record.redisCPUSeconds = end.redis - start.redis
        record.machineCPUSeconds = end.machine - start.machine
        record.windowSeconds = SubscribeCommand.seconds(end.at - start.at)
    }
}
