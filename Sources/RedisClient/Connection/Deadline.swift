import Synchronization

/// Runs `body` in a task of its own and answers its result, or
/// ``RedisError/commandTimeout(address:command:milliseconds:)`` once `timeout` has passed: a Cluster command cannot
/// be bounded by one connection's deadline (it may be redirected to another node), and a call already written
/// cannot be taken back, so the late answer is dropped. (The task is not a child: a task group would wait for it.)
/// Used wherever a caller must answer in time whatever Redis does: the publisher's requests on a Cluster, the
/// node registry's beats and reads, `ssectl top`'s refreshes.
public func withDeadline<Value: Sendable>(
    _ timeout: Duration, doing what: String, address: String, _ body: @escaping @Sendable () async throws -> Value
) async throws -> Value {
    let race = DeadlineRace<Value>()
    let milliseconds = timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
    return try await withCheckedThrowingContinuation { continuation in
        race.begin(continuation)
        let timer = Task {
            try? await Task.sleep(for: timeout)
            guard !Task.isCancelled else { return }
            race.finish(
                .failure(RedisError.commandTimeout(address: address, command: what, milliseconds: milliseconds)))
        }
        Task {
            let result: Result<Value, any Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            race.finish(result)
            timer.cancel()
        }
    }
}

/// The one answer of ``withDeadline(_:doing:address:_:)``: whichever of the call and the timer comes first.
private final class DeadlineRace<Value: Sendable>: Sendable {
    private let pending = Mutex<CheckedContinuation<Value, any Error>?>(nil)

    func begin(_ continuation: CheckedContinuation<Value, any Error>) {
        pending.withLock { $0 = continuation }
    }

    func finish(_ result: Result<Value, any Error>) {
        let continuation = pending.withLock { value in
            defer { value = nil }
            return value
        }
        continuation?.resume(with: result)
    }
}
