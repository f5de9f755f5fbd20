import RedisClient
import SSEProtocol
import Synchronization

/// The newest id a publisher was answered for each topic it published to, and which connection answered: what it
/// checks after a failover, so an event the old primary acknowledged and then lost is told to the topic's streams.
///
/// **Why the publisher checks.** Redis replicates asynchronously: a primary that dies right after answering a publish
/// can take the event with it, and when it also dies before pushing the event to its subscribers, no gateway node
/// ever relayed it: every node's last id for the topic is still in the promoted replica's history, so nothing looks
/// missing to them (they tell the losses they saw by themselves, see the gateway's `NodeHub+Recovery`). Only the
/// publisher holds the lost id. Replication is ordered, so the topic's newest acknowledged id is held if any of its
/// earlier ones is.
///
/// **When.** Each entry keeps the connection the publish was answered on. A round
/// (``History/confirmAcknowledged(limit:maxLength:)``, once a second in the publisher) checks, with `sse_confirm` on
/// the topic's current primary, the entries whose connection has closed since (the server died, a Sentinel group
/// switched masters) or whose topic is now served by another server (a Cluster slot that moved, or a primary whose
/// replica took over while it was frozen). A held id then stands for the connection the check went out on; a lost
/// one gets a `resync` event into the topic's history and out to its streams (``HistoryLibrary``), and the marker's
/// id replaces it. Entries with nothing to check cost nothing: a round only reads the topic table.
///
/// **A publish on another connection does not hide an unchecked id.** After a failover the next publish on the topic
/// often comes before the next round: its id, answered by the new primary, cannot stand for the one the old primary
/// answered, so the older id is kept as unchecked (up to ``uncheckedPerTopic`` per topic, the oldest dropped) and
/// checked by the next round. A publish on the same connection replaces the id: replication is ordered.
///
/// **Bounded.** At most `capacity` topics are kept (the least recently published to go first).
public final class AcknowledgedEvents: Sendable {
    struct Entry {
        var id: EventID
        /// The connection that answered; nil when unknown (checked at the next round).
        var connection: RedisConnection?
        var used: UInt64
        /// Whether a round found `id` held (or marked it) since it was recorded.
        var checked = false
        /// Ids answered on earlier connections, not checked yet.
        var unchecked: [EventID] = []
    }

    private struct State {
        var entries: [Topic: Entry] = [:]
        var clock: UInt64 = 0
        var lost = 0
    }

    /// The most topics kept.
    public let capacity: Int
    /// The most ids of earlier connections kept per topic.
    public static let uncheckedPerTopic = 8
    private let state = Mutex(State())

    public init(capacity: Int = 10_000) {
        self.capacity = max(capacity, 1)
    }

    /// Records that a publish on `topic` was answered with `id` on `connection` (nil: unknown). On the same connection
    /// an older id (a replayed idempotent publish) does not replace a newer one; on another, an id not checked yet is
    /// kept for the next round.
    public func record(_ topic: Topic, id: EventID, on connection: RedisConnection?) {
        state.withLock { state in
            state.clock += 1
            guard var entry = state.entries[topic] else {
                state.entries[topic] = Entry(id: id, connection: connection, used: state.clock)
                dropOldest(&state)
                return
            }
            entry.used = state.clock
            if let previous = entry.connection, let connection, previous === connection {
                if id > entry.id || (id == entry.id && !entry.checked) {
                    entry.id = id
                    entry.checked = false
                }
            } else {
                if !entry.checked && entry.id != id && !entry.unchecked.contains(entry.id) {
                    entry.unchecked.append(entry.id)
                    if entry.unchecked.count > Self.uncheckedPerTopic { entry.unchecked.removeFirst() }
                }
                entry.id = id
                entry.connection = connection
                entry.checked = false
            }
            state.entries[topic] = entry
        }
    }

    private func dropOldest(_ state: inout State) {
        guard state.entries.count > capacity + max(capacity / 10, 1) else { return }
        let excess = state.entries.count - capacity
        let oldest = state.entries.sorted { $0.value.used < $1.value.used }.prefix(excess)
        for (topic, _) in oldest { state.entries[topic] = nil }
    }

    /// The ids to check, the least recently published topics first: every unchecked id of an earlier connection,
    /// and the newest id of each topic whose connection is unknown or closed, or whose topic is served by another
    /// server now (`server` gives its address, nil when unknown).
    func due(server: (Topic) -> String?) -> [(topic: Topic, id: EventID)] {
        let entries = state.withLock { state in
            state.entries.filter { _, entry in
                !entry.unchecked.isEmpty || entry.connection.map { !$0.isActive } ?? true || !entry.checked
            }
        }
        var due: [(topic: Topic, id: EventID, used: UInt64)] = []
        for (topic, entry) in entries {
            for id in entry.unchecked { due.append((topic, id, entry.used)) }
            let stale: Bool
            if let connection = entry.connection, connection.isActive {
                stale = server(topic).map { $0 != connection.configuration.address } ?? false
            } else {
                stale = true
            }
            if stale { due.append((topic, entry.id, entry.used)) }
        }
        return due.sorted { $0.used < $1.used }.map { (topic: $0.topic, id: $0.id) }
    }

    /// Records a check's answer for `topic`'s `id`, sent on `connection` (nil: unknown): held, or lost and marked
    /// with `marker` (which then stands for the topic when `id` was its newest). An id replaced by a newer publish
    /// meanwhile only counts.
    func confirmed(
        _ topic: Topic, id: EventID, on connection: RedisConnection?, marker: EventID? = nil, isNew: Bool = true
    ) {
        state.withLock { state in
            if marker != nil && isNew { state.lost += 1 }
            guard var entry = state.entries[topic] else { return }
            entry.unchecked.removeAll { $0 == id }
            if entry.id == id {
                if let marker { entry.id = marker }
                entry.connection = connection
                entry.checked = connection != nil
            }
            state.entries[topic] = entry
        }
    }

    /// How many topics are kept.
    public var count: Int { state.withLock { $0.entries.count } }
    /// How many lost acknowledged events were marked (one per topic and loss) since start.
    public var lostFound: Int { state.withLock { $0.lost } }
    /// The newest id recorded for `topic`, for tests.
    public func id(of topic: Topic) -> EventID? { state.withLock { $0.entries[topic]?.id } }
}
