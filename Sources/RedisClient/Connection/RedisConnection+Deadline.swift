import NIOCore
import Synchronization

extension RedisConnection {
    /// Runs `body` on this connection, giving up after `timeout`.
    ///
    /// A command cannot be taken back once written, so on timeout the connection is closed: the waiting calls fail
    /// at once (reported as ``RedisError/commandTimeout(address:command:milliseconds:)`` naming `what`), and the
    /// next request gets a fresh connection instead of queueing behind a hung server. The timer runs on the connection's event loop, so it fires even when the
    /// calling task was cancelled (a Redis call cannot be cancelled halfway).
    public func withDeadline<Value>(
        _ timeout: Duration, doing what: String, _ body: (RedisConnection) async throws -> Value
    ) async throws -> Value {
        let expired = Expiry()
        let timer = eventLoop.scheduleTask(in: TimeAmount(timeout)) { [self] in
            expired.fire()
            self.closeNow()
        }
        defer { timer.cancel() }
        do {
            return try await body(self)
        } catch {
            if expired.hasFired {
                throw RedisError.commandTimeout(
                    address: configuration.address, command: what, milliseconds: Self.milliseconds(timeout))
            }
            throw error
        }
    }
}

extension RedisConnection {
    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}

/// Whether a deadline has passed; set on the event loop, read by the waiting task.
private final class Expiry: Sendable {
    private let fired = Mutex(false)

    func fire() { fired.withLock { $0 = true } }

    var hasFired: Bool { fired.withLock { $0 } }
}
