import Foundation
import LocalRedis
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Where a suite run keeps its files, and the one way it starts a process: through ``ChildProcess`` (the package's
/// launcher), with the output in the work folder and the command line recorded for the document.
final class SuiteWorkspace: Sendable {
    /// The repository root (the suite runs from it; `nginx/`, `deploy/` and `bench/` are read from it).
    let repository: String
    /// The run's work folder: configurations, logs, load results.
    let work: String
    /// `sse-gateway` and `sse-load` of the release build.
    let gateway: String
    let load: String
    /// The floor server's binary.
    let floor: String
    private let commands = Mutex<[String]>([])

    init(repository: String, work: String, gateway: String, load: String, floor: String) throws {
        self.repository = repository
        self.work = work
        self.gateway = gateway
        self.load = load
        self.floor = floor
        for folder in ["", "/logs", "/load"] {
            try FileManager.default.createDirectory(atPath: work + folder, withIntermediateDirectories: true)
        }
        // nginx started by root runs its workers as `nobody`, and they write temp files inside.
        chmod(work, 0o755)
    }

    /// Every command recorded, in order, with the work folder written `$W` and the repository prefix dropped.
    var commandLog: [String] { commands.withLock { $0 } }

    /// Records a command line (also one the suite ran another way, e.g. a `redis-server` that LocalRedis started).
    func record(_ arguments: [String], output: String? = nil) {
        var line = arguments.map(Self.quoted).joined(separator: " ")
        if let output { line += " >" + output }
        line = line.replacingOccurrences(of: work, with: "$W").replacingOccurrences(of: repository + "/", with: "")
        commands.withLock { $0.append(line) }
    }

    /// Starts `executable` with its output and error in `logs/<log>.log`, recorded.
    func start(_ executable: String, _ arguments: [String], log: String) throws -> ChildProcess {
        record([executable] + arguments)
        return try ChildProcess(executable, arguments, output: .file(work + "/logs/\(log).log"))
    }

    /// Runs a short program to its end (`nginx -t`, `deploy/nginx-cluster-conf`, `curl`); its status, or nil when
    /// it ran over `timeout` (then it is killed). Output goes to `logs/<log>.log`.
    func run(
        _ executable: String, _ arguments: [String], log: String, timeout: Duration = .seconds(30), quiet: Bool = false
    )
        async throws -> Int32?
    {
        if !quiet { record([executable] + arguments) }
        let child = try ChildProcess(executable, arguments, output: .file(work + "/logs/\(log).log"))
        guard let status = await child.exit(within: timeout) else {
            child.kill()
            return nil
        }
        return status
    }

    /// The end of a log, for an error message.
    func tail(ofLog log: String) -> String {
        let text = (try? String(contentsOfFile: work + "/logs/\(log).log", encoding: .utf8)) ?? ""
        return String(text.suffix(1500))
    }

    /// Whether `GET url` answers 2xx within 2 s (curl, whose exit status says so).
    func answers(_ url: String) async -> Bool {
        guard let curl = try? ChildProcess.locate("curl") else { return false }
        let status = try? await run(
            curl, ["-fsS", "-o", "/dev/null", "--max-time", "2", url], log: "curl", timeout: .seconds(5), quiet: true)
        return status == 0
    }

    static func quoted(_ argument: String) -> String {
        let plain = argument.allSatisfy { $0.isLetter || $0.isNumber || "-_./:=,@%+".contains($0) }
        return plain && !argument.isEmpty
            ? argument : "'" + argument.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }
}

/// A suite failure: what was being done and what went wrong.
struct SuiteError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
