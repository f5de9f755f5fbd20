import Logging
import Synchronization

/// A Redis connection of its own for `WATCH`/`MULTI`/`EXEC`, used by one task at a time.
///
/// `WATCH` and `MULTI` are state of the connection, not of a command: on the shared, pipelined connection another
/// request's command could land between `WATCH` and `EXEC` (breaking the check) or inside `MULTI` (joining the
/// transaction). So transactions get this dedicated connection, and callers queue for it in arrival order. Each
/// turn is bounded by the Redis timeout; a turn that fails or times out closes the connection, since it may be left
/// inside a `WATCH` or `MULTI`, and the next turn connects again. Waiting for a turn is bounded by the same timeout,
/// so while Redis hangs a burst of posts fails after at most twice the timeout instead of queueing without end.
public final class TransactionConnection: Sendable {
    private struct State {
        var busy = false
        /// Waiting callers in arrival order, each resumed with true when it gets its turn, false when it gave up.
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Bool, Never>)] = []
        var nextWaiterID: UInt64 = 0
        var connection: RedisConnection?
    }

    private let connector: RedisConnector
    private let timeout: Duration
    private let logger: Logger
    private let state = Mutex(State())

    public convenience init(configuration: RedisConfiguration, timeout: Duration, logger: Logger) {
        self.init(connector: RedisConnector(configuration: configuration), timeout: timeout, logger: logger)
    }

    /// Connects through `connector` on every (re)connect: on a Sentinel group, to the master of the moment.
    public init(connector: RedisConnector, timeout: Duration, logger: Logger) {
        self.connector = connector
        self.timeout = timeout
        self.logger = logger
    }

    /// Waits for the connection, then runs `body` on it alone (within the timeout).
    public func run<Value>(_ what: String, _ body: (RedisConnection) async throws -> Value) async throws -> Value {
        guard await acquire() else {
            throw RedisError.commandTimeout(
                address: connector.address, command: "\(what) (waiting for the transaction connection)",
                milliseconds: RedisConnection.milliseconds(timeout))
        }
        defer { release() }
        let connection = try await currentConnection()
        do {
            return try await connection.withDeadline(timeout, doing: what, body)
        } catch {
            connection.closeNow()
            state.withLock { if $0.connection === connection { $0.connection = nil } }
            throw error
        }
    }

    /// Callers waiting for a turn now (for tests of the order of turns).
    public var waitingTurns: Int { state.withLock { $0.waiters.count } }

    /// Closes the connection (at shutdown); a later ``run(_:_:)`` would connect again.
    public func close() async {
        let connection = state.withLock { state in
            defer { state.connection = nil }
            return state.connection
        }
        await connection?.close()
    }

    private func currentConnection() async throws -> RedisConnection {
        if let connection = state.withLock({ $0.connection }), connection.isActive { return connection }
        let connection = try await connector.connect(logger: logger)
        state.withLock { $0.connection = connection }
        return connection
    }

    /// Takes the connection, waiting in line for at most the timeout; false when the wait timed out.
    private func acquire() async -> Bool {
        let id = state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        let timeout = self.timeout
        let expiry = Task { [self] in
            try? await Task.sleep(for: timeout)
            if !Task.isCancelled { giveUp(id) }
        }
        defer { expiry.cancel() }
        return await withCheckedContinuation { continuation in
            // Checking and queueing under one lock, so a release in between cannot miss this waiter.
            let granted = state.withLock { state -> Bool in
                if !state.busy {
                    state.busy = true
                    return true
                }
                state.waiters.append((id, continuation))
                return false
            }
            if granted { continuation.resume(returning: true) }
        }
    }

    /// Removes a waiter whose time is up (unless it was already given the connection) and tells it so.
    private func giveUp(_ id: UInt64) {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index).continuation
        }
        waiter?.resume(returning: false)
    }

    /// Hands the connection to the next waiter (which stays `busy`), or marks it free.
    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            if state.waiters.isEmpty {
                state.busy = false
                return nil
            }
            return state.waiters.removeFirst().continuation
        }
        next?.resume(returning: true)
    }
}
