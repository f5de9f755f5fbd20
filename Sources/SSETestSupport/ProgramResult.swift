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
    let child = try ChildProcess(executable, arguments, environment: environment, output: .file(output))
    guard let code = await child.exit(within: timeout) else {
        child.kill()
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        throw ProgramError(message: "\(executable) \(arguments) ran over \(timeout):\n\(text.suffix(3000))")
    }
    return ProgramResult(status: code, output: (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
}

/// `$<override>`, else `name` on `PATH`, else in `/usr/sbin` or `/usr/bin` (Debian puts nginx in sbin).
public func findExecutable(_ name: String, environmentOverride: String? = nil) throws -> String {
    if let found = try? ChildProcess.locate(name, environmentOverride: environmentOverride) { return found }
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
