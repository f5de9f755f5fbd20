import NIOCore
import RedisClient
import Synchronization

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
