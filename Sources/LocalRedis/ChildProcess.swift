import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A program this process started: the one launcher of the package, used by tests, benchmarks and scripts.
///
/// It holds the pid until the child is reaped, then its exit status, and signals only that pid and only while it
/// has not been reaped, so a recycled pid is never hit. Standard output (and error, unless discarded apart) goes to
/// a file, to nowhere, or to a closure that a dedicated reader thread feeds chunk by chunk with blocking `read(2)`
/// (never a thread of the Swift concurrency pool), so a chatty child never stalls on a full pipe.
public final class ChildProcess: Sendable {
    /// Where the child's standard output goes.
    public enum Output: Sendable {
        /// `/dev/null`, for output and error.
        case discard
        /// Appended to a file, output and error together.
        case file(String)
        /// Output and error appended to two files.
        case files(output: String, error: String)
        /// Handed to the closure as it is written (on the reader thread); standard error is discarded.
        case stream(@Sendable (UnsafeRawBufferPointer) -> Void)
    }

    /// The program's path, for messages.
    public let executable: String
    private let pid: Mutex<pid_t>
    private let exitStatus = Mutex<Int32?>(nil)
    /// False until the reader thread of a `.stream` child has seen end-of-file (true at once otherwise).
    private let outputDone: Atomic<Bool>

    /// Pids of the children still running, so an interrupt can stop exactly the processes this run started.
    private static let running = Mutex<Set<pid_t>>([])

    /// Starts `executable` (a path; see ``locate(_:environmentOverride:)``) with `arguments`.
    ///
    /// `environment` entries are added to (or replace those of) this process's environment. Standard input is
    /// `/dev/null`.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], output: Output = .discard
    ) throws {
        self.executable = executable
        var pipeEnds: [Int32] = [-1, -1]
        var reader: (@Sendable (UnsafeRawBufferPointer) -> Void)?
        var outputPath = "/dev/null"
        var errorPath: String?
        switch output {
        case .discard: break
        case .file(let path): outputPath = path
        case .files(let path, let error):
            outputPath = path
            errorPath = error
        case .stream(let onOutput):
            guard pipe(&pipeEnds) == 0 else {
                throw LocalRedisError.system("pipe failed: \(String(cString: strerror(errno)))")
            }
            // Not inherited by programs started meanwhile (the spawn closes every descriptor above 2 anyway).
            for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
            reader = onOutput
        }
        outputDone = Atomic(reader == nil)
        let child: pid_t
        do {
            child = try Self.spawn(
                executable, arguments, environment: environment, outputPath: outputPath, errorPath: errorPath,
                pipeWriteEnd: reader == nil ? nil : pipeEnds[1])
        } catch {
            if reader != nil {
                close(pipeEnds[0])
                close(pipeEnds[1])
            }
            throw error
        }
        pid = Mutex(child)
        Self.running.withLock { _ = $0.insert(child) }
        if let reader {
            // Our copy of the write end must go, or the reader would never see end-of-file.
            close(pipeEnds[1])
            startReader(descriptor: pipeEnds[0], name: executable, onOutput: reader)
        }
    }

    /// Starts the program called `name` found on `PATH` (see ``locate(_:environmentOverride:)``).
    public convenience init(
        named name: String, _ arguments: [String], environment: [String: String] = [:], output: Output = .discard
    ) throws {
        try self.init(Self.locate(name), arguments, environment: environment, output: output)
    }

    deinit {
        kill()
    }

    /// The pid while the process runs (or has ended but is not reaped yet); nil once reaped.
    public var processID: pid_t? {
        let running = pid.withLock { $0 }
        return running > 0 ? running : nil
    }

    /// Sends `number` to the child, if it has not been reaped.
    public func signal(_ number: Int32) {
        if let running = processID { Glibc.kill(running, number) }
    }

    /// SIGKILL (after SIGCONT, in case it was stopped) and reap, blocking up to 5 s.
    public func kill() {
        signal(SIGCONT)
        signal(SIGKILL)
        waitForExit(timeout: .seconds(5))
    }

    /// SIGTERM (after SIGCONT), then SIGKILL if it still runs after `grace`; returns the exit status.
    @discardableResult
    public func stop(grace: Duration = .seconds(10)) async -> Int32? {
        signal(SIGCONT)
        signal(SIGTERM)
        if let status = await exit(within: grace) { return status }
        kill()
        return reapIfExited()
    }

    /// The exit status once the process has ended and its streamed output is read (non-blocking): the exit code,
    /// or 128 + the signal number.
    public func reapIfExited() -> Int32? {
        if let status = exitStatus.withLock({ $0 }) { return outputDone.load(ordering: .acquiring) ? status : nil }
        guard let running = processID else { return nil }
        var status: Int32 = 0
        guard waitpid(running, &status, WNOHANG) == running else { return nil }
        let code: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        exitStatus.withLock { $0 = code }
        pid.withLock { $0 = 0 }
        Self.running.withLock { _ = $0.remove(running) }
        return outputDone.load(ordering: .acquiring) ? code : nil
    }

    /// Waits for the process to end, polling with `Task.sleep` so no thread of the concurrency pool is held (a
    /// blocked pool thread stalls every other task's timers); nil if it still runs after `timeout`.
    public func exit(within timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let status = reapIfExited() { return status }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return reapIfExited()
    }

    /// Waits for the process to end, blocking the calling thread (for `deinit`, `kill` and interrupt handlers);
    /// nil if it still runs after `timeout`. From async code use ``exit(within:)``.
    @discardableResult
    public func waitForExit(timeout: Duration) -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let status = reapIfExited() { return status }
            usleep(5_000)
        }
        return reapIfExited()
    }

    /// SIGKILL to every child of this process still running; for interrupt handlers, which cannot wait.
    public static func killAll() {
        for pid in running.withLock({ $0 }) { Glibc.kill(pid, SIGKILL) }
    }

    /// SIGTERM to every child still running, SIGKILL to those left after `grace`, and reap them (blocking): for an
    /// interrupt handler that has time for a clean stop of servers.
    public static func stopAll(grace: Duration = .seconds(5)) {
        let pids = running.withLock { $0 }
        for pid in pids {
            Glibc.kill(pid, SIGCONT)
            Glibc.kill(pid, SIGTERM)
        }
        var left = pids
        let deadline = ContinuousClock.now + grace
        while !left.isEmpty && ContinuousClock.now < deadline {
            var status: Int32 = 0
            left = left.filter { waitpid($0, &status, WNOHANG) == 0 }
            usleep(10_000)
        }
        for pid in left {
            Glibc.kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        running.withLock { $0.subtract(pids) }
    }

    /// `$<environmentOverride>`, else `name` on `PATH`, else in `/usr/sbin`, `/usr/bin`, `/sbin`, `/bin` (Debian
    /// puts nginx in sbin, which a user's PATH lacks).
    public static func locate(_ name: String, environmentOverride: String? = nil) throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let override = environmentOverride, let path = environment[override], !path.isEmpty { return path }
        let path = environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
            let candidate = directory + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw LocalRedisError.system("\(name) not found on PATH or in /usr/sbin, /usr/bin (install it with apt)")
    }

    private func startReader(
        descriptor: Int32, name: String, onOutput: @escaping @Sendable (UnsafeRawBufferPointer) -> Void
    ) {
        let thread = Thread { [self] in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 1)
            defer { buffer.deallocate() }
            while true {
                let count = read(descriptor, buffer.baseAddress, buffer.count)
                if count > 0 {
                    onOutput(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                } else if count < 0 && errno == EINTR {
                    continue
                } else {
                    break
                }
            }
            close(descriptor)
            outputDone.store(true, ordering: .releasing)
        }
        thread.name = "\(name) stdout"
        thread.start()
    }
}
