import NIOCore
import Synchronization

/// Counts the messages one subscriber peer received and when the first and the last arrived.
///
/// Written by one thread only (our subscriber's event loop, or the redis-cli reader thread) and read by the
/// benchmark task. The arrival time is stored before the count is released, so a reader that acquires the count sees
/// a last-arrival time at least as new as that count.
final class MessageTally: Sendable {
    private let received = Atomic<Int>(0)
    private let firstNanoseconds = Atomic<UInt64>(0)
    private let lastNanoseconds = Atomic<UInt64>(0)
    private let wrongSizes = Atomic<Int>(0)
    private let subscribed = Atomic<Bool>(false)
    private let disconnects = Atomic<Int>(0)

    /// Records `count` messages that arrived just now.
    func record(_ count: Int = 1) {
        let now = NIODeadline.now().uptimeNanoseconds
        if firstNanoseconds.load(ordering: .relaxed) == 0 { firstNanoseconds.store(now, ordering: .relaxed) }
        lastNanoseconds.store(now, ordering: .relaxed)
        received.add(count, ordering: .releasing)
    }

    /// Records a message whose payload did not have the size that was published.
    func recordWrongSize() { wrongSizes.add(1, ordering: .relaxed) }

    func markSubscribed() { subscribed.store(true, ordering: .releasing) }

    func markDisconnected() { disconnects.add(1, ordering: .relaxed) }

    var count: Int { received.load(ordering: .acquiring) }
    var isSubscribed: Bool { subscribed.load(ordering: .acquiring) }
    var disconnectCount: Int { disconnects.load(ordering: .relaxed) }
    var wrongSizeCount: Int { wrongSizes.load(ordering: .relaxed) }

    /// Messages per second from the first to the last arrival; nil with fewer than two arrivals apart in time.
    var messagesPerSecond: Double? {
        let count = self.count
        let first = firstNanoseconds.load(ordering: .relaxed)
        let last = lastNanoseconds.load(ordering: .relaxed)
        guard count > 1, last > first else { return nil }
        return Double(count) / (Double(last - first) / 1e9)
    }

    /// Waits until the peer confirmed its subscription; throws after `limit`.
    func waitUntilSubscribed(peer: String, limit: Duration) async throws {
        let deadline = ContinuousClock.now + limit
        while !isSubscribed {
            guard ContinuousClock.now < deadline else {
                throw BenchmarkError.subscriberNotReady(peer: peer, limit: limit)
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Waits until `expected` messages arrived, or nothing arrived for `idleLimit`, or `limit` passed.
    ///
    /// The idle limit ends the wait early when messages were dropped (a disconnected subscriber) instead of always
    /// sitting out the whole phase timeout.
    func waitForMessages(_ expected: Int, idleLimit: Duration, limit: Duration) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        var lastCount = count
        var lastProgress = clock.now
        while lastCount < expected {
            try await Task.sleep(for: .milliseconds(10))
            let now = clock.now
            let current = count
            if current != lastCount {
                lastCount = current
                lastProgress = now
            } else if now - lastProgress > idleLimit {
                return
            }
            if now > deadline { return }
        }
    }
}
