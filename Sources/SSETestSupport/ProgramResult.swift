import Foundation
import LocalRedis

#if canImport(Glibc)
    import Glibc
#endif

/// What a short-lived program printed (standard output and error together) and how it exited.
public struct ProgramResult: Sendable {
    public var status: Int32
    public var output: String
}

/// Runs a program to completion with its output captured (for `nginx -t`, scripts, `docker-compose config`).
/// `environment` entries are added to this process's environment. The program is killed after `timeout`.
public func runProgram(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:],
    timeout: Duration = .seconds(120)
) async throws -> ProgramResult {
    let directory = try makeDirectory("program")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let output = directory + "/output.log"
    let child = try spawnProcess(executable, arguments, environment: environment, outputPath: output)
    let deadline = ContinuousClock.now + timeout
    var status: Int32 = 0
    // Polled, so no thread of the concurrency pool is held in waitpid.
    while waitpid(child, &status, WNOHANG) != child {
        if ContinuousClock.now > deadline {
            kill(child, SIGKILL)
            waitpid(child, &status, 0)
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            throw ProgramError(message: "\(executable) \(arguments) ran over \(timeout):\n\(text.suffix(3000))")
        }
        try await Task.sleep(for: .milliseconds(10))
    }
    let code: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return ProgramResult(status: code, output: (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
}

/// `$<override>`, else `name` on `PATH`, else in `/usr/sbin` or `/usr/bin` (Debian puts nginx in sbin).
public func findExecutable(_ name: String, environmentOverride: String? = nil) throws -> String {
    let environment = ProcessInfo.processInfo.environment
    if let override = environmentOverride, let path = environment[override], !path.isEmpty { return path }
    let path = environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
        let candidate = directory + "/" + name
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    throw ProgramError(message: "\(name) not found on PATH or in /usr/sbin, /usr/bin (install it with apt)")
}

/// A fresh directory under the temporary directory, named after `purpose`. It is world-traversable (mkdtemp
/// makes it private): nginx started by root runs its workers as `nobody`, and they write temp files inside.
public func makeDirectory(_ purpose: String) throws -> String {
    var template = Array((NSTemporaryDirectory() + "/sse-\(purpose)-XXXXXX").utf8CString)
    guard let made = mkdtemp(&template) else {
        throw ProgramError(message: "mkdtemp failed: \(String(cString: strerror(errno)))")
    }
    chmod(made, 0o755)
    return String(cString: made)
}

/// A program could not be found, started or finished in time.
public struct ProgramError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }

    public init(message: String) {
        self.message = message
    }
}
