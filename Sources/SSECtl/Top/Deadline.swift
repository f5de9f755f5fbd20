import RedisClient
import Synchronization

/// Bounds a Redis call in time for `ssectl top`, whose refresh must not hang on a frozen or unreachable server.
enum Deadline {
    /// `body`'s result, or ``RedisError/commandTimeout(address:command:milliseconds:)`` once `limit` has passed.
    ///
    /// The call runs in a task of its own, not a child: a command already written cannot be taken back, and a task
    /// group would wait for it; a late answer is dropped.
    static func run<Value: Sendable>(
        _ limit: Duration, doing what: String, address: String, _ body: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        let race = Race<Value>()
        let milliseconds = limit.components.seconds * 1000 + limit.components.attoseconds / 1_000_000_000_000_000
        return try await withCheckedThrowingContinuation { continuation in
            race.begin(continuation)
            let timer = Task {
                try? await Task.sleep(for: limit)
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

    /// A continuation resumed once, by whichever of the call and its timer finishes first.
    private final class Race<Value: Sendable>: Sendable {
        private let pending = Mutex<CheckedContinuation<Value, any Error>?>(nil)

        func begin(_ continuation: CheckedContinuation<Value, any Error>) { pending.withLock { $0 = continuation } }

        func finish(_ result: Result<Value, any Error>) {
            pending.withLock { pending in
                pending?.resume(with: result)
                pending = nil
            }
        }
    }
}
