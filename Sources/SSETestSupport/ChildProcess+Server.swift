import Foundation
import LocalRedis

#if canImport(Glibc)
    import Glibc
#endif

/// Test servers on the package's one launcher (``ChildProcess`` in LocalRedis): readiness, port ownership, the
/// programs `swift test` built.
extension ChildProcess {
    /// Starts one of our servers (`executable` beside the test bundle) on a free loopback port and waits until
    /// `GET readyPath` answers 200; if it exits or 20 s pass first, kills it and throws with the end of its log.
    ///
    /// A free port can be taken by another suite between the check and the server's bind (suites run in
    /// parallel); a server that exits at once because its address is in use is started again on another port.
    /// `launcher` runs the server through another program that execs it (e.g. `prlimit --nofile=N:N`).
    static func startServer(
        name: String, arguments: (Int) -> [String], environment: [String: String] = [:], logName: String,
        readyPath: String, launcher: [String] = []
    ) async throws -> (child: ChildProcess, port: Int, logPath: String) {
        var attempt = 1
        while true {
            let port = try freeLoopbackPort()
            let logPath = NSTemporaryDirectory() + "/\(logName)-\(port).log"
            let command = launcher + [siblingExecutable(name)] + arguments(port)
            let child = try ChildProcess(
                command[0], Array(command.dropFirst()), environment: environment, output: .file(logPath))
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                if let response = try? await HTTPProbe.get(port: port, path: readyPath), response.status == 200,
                    child.isListening(on: port)
                {
                    return (child, port, logPath)
                }
                if child.reapIfExited() != nil { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            child.kill()
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            if attempt < 3, log.contains("Address already in use") {
                attempt += 1
                try? FileManager.default.removeItem(atPath: logPath)
                continue
            }
            throw ServerProcessError(message: "\(name) on port \(port) did not become ready:\n\(log.suffix(3000))")
        }
    }

    /// Whether this process holds the listening socket on `port`: the answer to a readiness probe may come from
    /// another suite's server that took the port first (this one then fails to bind and exits).
    func isListening(on port: Int) -> Bool {
        guard let pid = processID else { return false }
        let hexPort = String(format: ":%04X", port)
        var inodes = Set<String>()
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            // procfs reports size 0: read to the end, not one buffer's worth.
            let data = FileHandle(forReadingAtPath: table)?.readDataToEndOfFile() ?? Data()
            let text = String(decoding: data, as: UTF8.self)
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                // local_address is field 1, st (0A = LISTEN) field 3, inode field 9.
                guard fields.count > 9, fields[1].hasSuffix(hexPort), fields[3] == "0A" else { continue }
                inodes.insert("socket:[\(fields[9])]")
            }
        }
        guard !inodes.isEmpty else { return false }
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        return descriptors.contains { descriptor in
            guard
                let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(descriptor)")
            else { return false }
            return inodes.contains(target)
        }
    }

    /// A program `swift test` built beside the running test bundle.
    static func siblingExecutable(_ name: String) -> String {
        let me =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent(name).path
    }
}

/// One of our servers started by a test; signalling and reaping go through its ``ChildProcess``.
public protocol ServerProcess: Sendable {
    var child: ChildProcess { get }
    var logPath: String { get }
}

extension ServerProcess {
    public func signal(_ number: Int32) { child.signal(number) }
    public func kill() { child.kill() }
    public func reapIfExited() -> Int32? { child.reapIfExited() }
    public func exit(within timeout: Duration) async -> Int32? { await child.exit(within: timeout) }
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}

public struct ServerProcessError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
