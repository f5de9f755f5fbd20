import NIOCore
import RedisClient
import Synchronization
import Testing

/// Polls `condition` every few milliseconds until it holds; fails the test with `message` after `timeout`.
/// A bounded wait for a state, not a sleep that hopes something happened.
func waitUntil(
    _ message: @autoclosure () -> String, timeout: Duration = .seconds(10),
    sourceLocation: SourceLocation = #_sourceLocation, _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(5))
    }
    Issue.record("timed out after \(timeout): \(message())", sourceLocation: sourceLocation)
    throw TimedOut()
}

struct TimedOut: Error {}

/// Collects a subscriber's events in order.
final class EventLog: Sendable {
    private let events = Mutex<[RedisSubscriber.Event]>([])

    func append(_ event: RedisSubscriber.Event) { events.withLock { $0.append(event) } }

    var all: [RedisSubscriber.Event] { events.withLock { $0 } }

    /// Payloads of plain messages, as text, in arrival order.
    var messages: [String] {
        all.compactMap { event in
            if case .message(_, let payload) = event { return String(buffer: payload) }
            return nil
        }
    }

    func count(where predicate: (RedisSubscriber.Event) -> Bool) -> Int { all.filter(predicate).count }

    var connectedCount: Int { count { $0 == .connected } }
    var reconnectedCount: Int { count { $0 == .reconnected } }
    var disconnectedCount: Int {
        count { if case .disconnected = $0 { return true } else { return false } }
    }
}

extension ByteBuffer {
    init(_ bytes: [UInt8]) {
        self.init()
        writeBytes(bytes)
    }
}
