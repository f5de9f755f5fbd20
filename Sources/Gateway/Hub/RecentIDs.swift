import SSEProtocol

/// The reliable ids the node relayed most recently, with their topics: after Redis lost data (a failover to a
/// replica that had not received the last writes), which events of what Redis holds now the node has not relayed.
///
/// Why it is needed: a replica holds a prefix of its primary's history, and once promoted it issues ids from its own
/// clock, starting after the last id it received, but in the same milliseconds as the writes it lost. So after a
/// failover the new primary's history after a point the node relayed mixes events the node relayed (the prefix)
/// with events it never saw (published since the promotion), and ids alone cannot tell them apart; the node's own
/// record can. The oldest id of the record that the new primary still holds is that point: every event after it
/// that the record lacks is new, every id of the record after it that the primary lacks was lost.
///
/// A ring of ``capacity`` entries, written once per relayed reliable event (one array store on the hub loop); the
/// set of ids is built only when a loss is being recovered. A loss larger than the ring (the oldest recorded id lost
/// too) falls back to the topic's whole history, told with `resync` like any loss.
struct RecentIDs {
    struct Entry: Hashable {
        let topic: Topic
        let id: EventID
    }

    let capacity: Int
    private var ring: [Entry?]
    private var next = 0

    init(capacity: Int = 4096) {
        self.capacity = max(capacity, 1)
        ring = Array(repeating: nil, count: self.capacity)
    }

    mutating func record(_ topic: Topic, _ id: EventID) {
        ring[next] = Entry(topic: topic, id: id)
        next = next + 1 == capacity ? 0 : next + 1
    }

    /// The oldest entry recorded (of `topic` when given).
    func oldest(of topic: Topic? = nil) -> Entry? {
        for offset in 0..<capacity {
            guard let entry = ring[(next + offset) % capacity] else { continue }
            if topic == nil || entry.topic == topic { return entry }
        }
        return nil
    }

    /// Every entry recorded, for one recovery.
    var entries: Set<Entry> { Set(ring.compactMap { $0 }) }
}

extension EventID {
    /// A stream position's entry for a topic the stream has seen nothing of (no event published when it joined):
    /// every event of the topic comes after it, and a replay reads the topic from its clock's origin.
    static let nothing = EventID(milliseconds: 0, sequence: 0)
}
