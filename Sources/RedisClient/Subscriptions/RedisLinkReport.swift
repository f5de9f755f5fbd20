import Synchronization

/// How one subscriber link stands: up or down, since when, and what its end-to-end probes found.
///
/// A link is the one subscribed connection of a ``RedisSubscriber``, or one shard's connection of a
/// ``RedisClusterSubscriber``. A connection can stay open, and even answer PING, while it delivers nothing (a frozen
/// or partitioned server, a half-open TCP connection): only a message published through the server and received
/// back on the link shows that it delivers, so that is what a probe does (``RedisSubscriber/Options/probeInterval``).
public struct RedisLinkReport: Sendable, Equatable {
    /// The server's `host:port` (or socket path; for a Sentinel group, the master and its sentinels).
    public var address: String
    /// Connected with every subscription confirmed. A link whose probe failed is closed, so it is down until it has
    /// reconnected and resubscribed.
    public var isUp: Bool
    /// When the link last went up or down (or was created, if it never came up).
    public var since: ContinuousClock.Instant
    public var probesSent: Int
    /// Probes that did not come back in time, whose publish failed, or that reached no subscriber.
    public var probeFailures: Int
    /// Probes not sent because this process had no descriptor (or memory) for the probe's connection: they say
    /// nothing about the link, which is kept. Counted in ``probesSent`` too, never in ``probeFailures``.
    public var probesSkipped: Int
    /// The last probe that completed failed; false before the first one and once a later probe came back.
    public var lastProbeFailed: Bool
    /// The round trip of the last probe that came back: publish sent to message received on the link.
    public var lastRoundTrip: Duration?
    /// Messages delivered to the caller on this link (probes not included).
    public var messagesReceived: Int
    /// The channel this link's probes travel on (nil while probing is off or, on a shard, before a slot map
    /// placed it).
    public var probeChannel: String?

    /// Nil while the link delivers as far as anyone can tell; otherwise what is wrong, naming the link.
    public var problem: String? {
        if !isUp { return "Redis link \(address) is down" }
        if lastProbeFailed { return "Redis link \(address) failed its last probe" }
        return nil
    }
}

/// The live figures of one link, written on its event loop and read from any thread.
///
/// Messages are counted in an atomic (one per message on the subscriber's loop); everything else changes at most a
/// few times a second and sits behind a mutex.
final class RedisLinkStatus: Sendable {
    private let report: Mutex<RedisLinkReport>
    private let messages = Atomic<Int>(0)

    init(address: String) {
        report = Mutex(
            RedisLinkReport(
                address: address, isUp: false, since: .now, probesSent: 0, probeFailures: 0, probesSkipped: 0,
                lastProbeFailed: false,
                lastRoundTrip: nil, messagesReceived: 0, probeChannel: nil))
    }

    var snapshot: RedisLinkReport {
        var copy = report.withLock { $0 }
        copy.messagesReceived = messages.load(ordering: .relaxed)
        return copy
    }

    func messageReceived() { messages.add(1, ordering: .relaxed) }

    func setUp(_ up: Bool) {
        report.withLock {
            guard $0.isUp != up else { return }
            $0.isUp = up
            $0.since = .now
        }
    }

    func probeSent() { report.withLock { $0.probesSent += 1 } }

    func probeSucceeded(roundTrip: Duration) {
        report.withLock {
            $0.lastProbeFailed = false
            $0.lastRoundTrip = roundTrip
        }
    }

    func probeSkipped() { report.withLock { $0.probesSkipped += 1 } }

    func probeFailed() {
        report.withLock {
            $0.probeFailures += 1
            $0.lastProbeFailed = true
        }
    }

    func setProbeChannel(_ channel: String?) { report.withLock { $0.probeChannel = channel } }
}

/// The statuses of a changing set of links (a cluster subscriber's shards), keyed by address.
final class RedisLinkStatuses: Sendable {
    private let statuses = Mutex<[String: RedisLinkStatus]>([:])

    func add(_ status: RedisLinkStatus, address: String) { statuses.withLock { $0[address] = status } }

    func remove(address: String) { statuses.withLock { $0[address] = nil } }

    func removeAll() { statuses.withLock { $0.removeAll() } }

    /// Every link's report, by address.
    var reports: [RedisLinkReport] {
        statuses.withLock { Array($0.values) }.map(\.snapshot).sorted { $0.address < $1.address }
    }
}
