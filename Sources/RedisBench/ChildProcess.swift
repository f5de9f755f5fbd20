import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A program the benchmark starts (redis-benchmark, redis-cli), found on `PATH`.
///
/// Its stdout is read on a dedicated thread with blocking `read(2)` — never on a thread of the Swift concurrency
/// pool — and handed chunk by chunk to `onOutput`, so a chatty child never stalls on a full pipe and a counting
/// reader sees data as soon as it is written. stderr is discarded. Only this child's pid is ever signalled.
final class ChildProcess: Sendable {
    let name: String
    private let process: Process
    private let readerFinished = Atomic<Bool>(false)

    /// Pids of children still running, so an interrupt can stop exactly the processes this run started.
    static let running = Mutex<Set<Int32>>([])

    /// Starts `name` with `arguments`; `onOutput` runs on the reader thread for every chunk of stdout.
    init(
        _ name: String, arguments: [String],
        onOutput: @escaping @Sendable (UnsafeRawBufferPointer) -> Void
    ) throws {
        self.name = name
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Self.locate(name))
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        self.process = process
        try process.run()
        let pid = process.processIdentifier
        Self.running.withLock { _ = $0.insert(pid) }
        // Our copy of the write end must go, or the reader would never see end-of-file.
        try? pipe.fileHandleForWriting.close()
        let descriptor = pipe.fileHandleForReading.fileDescriptor
        let reading = pipe.fileHandleForReading
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
            try? reading.close()
            readerFinished.store(true, ordering: .releasing)
        }
        thread.name = "\(name) stdout"
        thread.start()
    }

    var processID: Int32 { process.processIdentifier }

    /// Waits until the child has exited and its stdout is fully read; nil when `timeout` passed first.
    ///
    /// Polls every 5 ms: the cost is invisible next to multi-second runs, and there is no continuation to leak when
    /// the wait gives up.
    func waitForExit(timeout: Duration) async throws -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !process.isRunning && readerFinished.load(ordering: .acquiring) {
                let pid = process.processIdentifier
                Self.running.withLock { _ = $0.remove(pid) }
                return process.terminationStatus
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        return nil
    }

    /// SIGKILL, then waits (bounded) until the child is gone and its output is read.
    ///
    /// Not SIGTERM: a child started from a concurrency-pool thread inherits that thread's signal mask, in which
    /// SIGTERM and SIGINT are blocked, so a polite stop would never arrive. redis-cli and redis-benchmark hold no
    /// state worth a clean exit.
    func stop(grace: Duration = .seconds(2)) async {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        _ = try? await waitForExit(timeout: grace)
    }

    /// SIGKILL to every child still running; for the interrupt handler, which cannot wait.
    static func killAll() {
        for pid in running.withLock({ $0 }) { kill(pid, SIGKILL) }
    }

    /// The first executable called `name` on `PATH`.
    static func locate(_ name: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw BenchmarkError.toolNotFound(name)
    }
}
