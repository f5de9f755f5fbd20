import ArgumentParser
import Dispatch
import Foundation
import LocalRedis

#if canImport(Glibc)
    import Glibc
#endif

/// `sse-load suite`: the benchmark suite. Starts every system afresh per scenario on free loopback ports, runs the
/// load processes, collects typed results and writes `docs/BENCHMARKS.md` (`bench/run` builds and calls it).
///
/// Every process it starts is a ``ChildProcess``; each scenario stops its own by pid, and SIGINT or SIGTERM stops
/// whatever is still running before the suite exits.
struct SuiteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suite",
        abstract: "Run the benchmark suite (ours, nginx + nchan, the C floor) and write docs/BENCHMARKS.md.")

    @Flag(help: "Small sizes (a few minutes): checks the suite works; the document goes to the work folder.")
    var quick = false
    @Option(help: "Systems, comma-separated: ours-1, ours-2, nchan-1, nchan-2, floor.")
    var systems = BenchSystem.selectable.map(\.rawValue).joined(separator: ",")
    @Option(help: "Scenarios, comma-separated: S1 … S8 (S4 and S6 share one opening of idle streams).")
    var scenarios = Scenario.allCases.map(\.rawValue).joined(separator: ",")
    @Option(help: "Where the document goes (default docs/BENCHMARKS.md; with --quick, the work folder).")
    var out: String?
    @Option(help: "Work folder for configurations, logs and results (default: a new folder under /tmp).")
    var work: String?
    @Option(help: "Heartbeat interval of the gateway and nchan, seconds.") var heartbeat = 5
    @Option(help: "The floor server's binary (bench/run builds it from ../shared/bench-floor).")
    var floor: String?
    @Option(help: "Hand-written findings included in the document after the targets.") var findings =
        "bench/findings.md"

    func validate() throws {
        _ = try selectedSystems()
        _ = try selectedScenarios()
        guard heartbeat > 0 else { throw ValidationError("--heartbeat \(heartbeat) is invalid: use whole seconds ≥ 1") }
    }

    func selectedSystems() throws -> [BenchSystem] {
        try systems.split(separator: ",").map { name in
            guard let system = BenchSystem(rawValue: String(name)), BenchSystem.selectable.contains(system) else {
                throw ValidationError("system \"\(name)\" is unknown: use ours-1, ours-2, nchan-1, nchan-2, floor")
            }
            return system
        }
    }

    func selectedScenarios() throws -> [Scenario] {
        try scenarios.split(separator: ",").map { name in
            guard let scenario = Scenario(rawValue: name.uppercased()) else {
                throw ValidationError("scenario \"\(name)\" is unknown: use S1 … S8")
            }
            return scenario
        }.sorted()
    }

    func run() async throws {
        let interrupts = Self.stopChildrenOnInterrupt()
        defer { interrupts.forEach { $0.cancel() } }
        let repository = FileManager.default.currentDirectoryPath
        // sse-gateway is built beside this program (the release build of bench/run).
        let me =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let binaries = URL(fileURLWithPath: me).deletingLastPathComponent().path
        let workFolder = try work ?? Self.makeWorkFolder()
        let workspace = try SuiteWorkspace(
            repository: repository, work: workFolder, gateway: binaries + "/sse-gateway", load: binaries + "/sse-load",
            floor: floor ?? binaries + "/../floor/floor")
        let (systems, scenarios) = (try selectedSystems(), try selectedScenarios())
        if systems.contains(.floor), !FileManager.default.isExecutableFile(atPath: workspace.floor) {
            throw ValidationError(
                "the floor server \(workspace.floor) is missing: build it (bench/run) or pass --floor")
        }
        SuiteRunner.say("work folder \(workFolder)")
        let machine = await SuiteMachine.describe(in: workspace)
        let startedAt = Date()
        let sizes = quick ? SuiteSizes.quick : SuiteSizes.full
        let runner = SuiteRunner(workspace: workspace, sizes: sizes, heartbeat: heartbeat)
        try await runner.run(scenarios: scenarios, systems: systems, results: workFolder + "/results.jsonl")

        let minutes = Int((Date().timeIntervalSince(startedAt) / 60).rounded())
        let summary =
            "Run of \(SuiteMachine.timestamp(startedAt)), \(minutes) min; "
            + (quick ? "quick sizes (`--quick`)" : "full sizes") + ", systems "
            + systems.map(\.rawValue).joined(separator: ",") + ", scenarios "
            + scenarios.map(\.rawValue).joined(separator: ",")
            + ", heartbeats every \(heartbeat) s, payloads of \(sizes.payloadSize) bytes."
        let notes = try? String(contentsOfFile: repository + "/" + findings, encoding: .utf8)
        let document = BenchmarkDocument(
            records: runner.records, machine: machine, commands: workspace.commandLog.joined(separator: "\n"),
            runSummary: summary, notes: notes)
        // The document's inputs, so `sse-load render` can write it again (e.g. after editing bench/findings.md).
        try machine.write(toFile: workFolder + "/machine.md", atomically: true, encoding: .utf8)
        try workspace.commandLog.joined(separator: "\n").write(
            toFile: workFolder + "/commands.sh", atomically: true, encoding: .utf8)
        try summary.write(toFile: workFolder + "/summary.md", atomically: true, encoding: .utf8)
        let output = out ?? (quick ? workFolder + "/BENCHMARKS.md" : repository + "/docs/BENCHMARKS.md")
        try Data(document.render().utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
        SuiteRunner.say("wrote \(output) (results in \(workFolder))")
    }

    static func makeWorkFolder() throws -> String {
        var template = Array("/tmp/sse-bench.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw SuiteError("mkdtemp failed: \(String(cString: strerror(errno)))")
        }
        return String(cString: made)
    }

    /// On SIGINT or SIGTERM: stops every process this run started (SIGTERM, SIGKILL after 5 s) and exits with 128
    /// + the signal number. The sources must stay alive for the handlers to fire.
    static func stopChildrenOnInterrupt() -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                FileHandle.standardError.write(Data("bench: interrupted, stopping the processes it started\n".utf8))
                ChildProcess.stopAll(grace: .seconds(5))
                Glibc.exit(128 + number)
            }
            source.resume()
            return source
        }
    }
}
