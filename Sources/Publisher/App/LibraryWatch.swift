import Logging

/// Keeps the `sse` and `board` function libraries loaded in Redis, checking once a second, so the publisher is
/// ready again within about a second of Redis losing its data (a restart without persistence, `FLUSHALL`,
/// `FUNCTION FLUSH`, a failover to an empty replica).
///
/// Loading only on first use was not enough: `/readyz` reports the libraries missing, a readiness-gated balancer
/// then sends no traffic, and nothing ever loaded them (issue 12, finding 5). The check is one `FUNCTION LIST`
/// per second on the shared connection (on a Redis Cluster one per primary, and a primary that lost them gets both
/// again), bounded by the Redis timeout like every call.
///
/// Logs `Redis function libraries loaded` once at start, `Redis function libraries reloaded` once per reload
/// (naming what was missing), and a warning on the first and every tenth failed attempt while Redis is away.
struct LibraryWatch: Sendable {
    let store: BoardStore
    let logger: Logger
    /// Pause between two checks.
    var interval: Duration = .seconds(1)

    /// Runs until the task is cancelled.
    func run() async {
        var loadedOnce = false
        var failures = 0
        while !Task.isCancelled {
            do {
                let missing = try await store.missingLibraries()
                if !missing.isEmpty || !loadedOnce {
                    try await store.install()
                    if loadedOnce {
                        logger.notice(
                            "Redis function libraries reloaded",
                            metadata: [
                                "sse.libraries": "sse, board", "sse.missing": "\(missing.joined(separator: ", "))",
                            ])
                    } else {
                        logger.info("Redis function libraries loaded", metadata: ["sse.libraries": "sse, board"])
                    }
                    loadedOnce = true
                }
                failures = 0
            } catch {
                failures += 1
                if failures == 1 || failures % 10 == 0 {
                    logger.warning(
                        "cannot check or load the Redis function libraries",
                        metadata: ["error": "\(error)", "sse.attempts": "\(failures)"])
                }
            }
            // A failure retries sooner (the first load at start, or Redis coming back).
            try? await Task.sleep(for: failures > 0 ? min(interval, .milliseconds(250)) : interval)
        }
    }
}
