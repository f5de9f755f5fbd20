/// Where a multi-topic stream stands in each of its topics, for Redis topologies whose ids are not ordered across
/// topics (a Redis Cluster, issue 15).
///
/// On one Redis every reliable id comes from one clock (`sse:clock`), so the last id a client saw is a position in
/// every topic at once and `Last-Event-ID` is that id, as it has always been. On a Cluster each topic's ids come from
/// its own clock on its own shard: an id of one topic says nothing about another's, so a stream that follows
/// several topics carries, in each `id:` line, the last id it delivered of each topic. The client treats it as an
/// opaque string and sends it back in `Last-Event-ID` (or `lastEventId=`), and the gateway resumes every topic from
/// its own entry, with no loss and no duplicate whichever shards the topics live on.
///
/// **Text form** (ASCII, URL- and header-safe, no spaces): `p1.` base, then per topic in the order of their keys
/// `.` key `~` delta `-` sequence, every number in lowercase base 36 without leading zeros:
/// - base is the smallest milliseconds of the entries, and each delta is an entry's milliseconds minus it, so ids
///   published close together cost a few characters each;
/// - the key is the FNV-1a 32-bit hash of the topic name, so the position names topics without spelling them out
///   (two topics of one stream with equal keys cannot share a position: ``init(_:)`` reports them).
///
/// `p1.mwq2rk2l.l0y3wm~0-0.1azqe6u~10-z.1uh1fl7~2s-1` holds `news` (key `l0y3wm`) at `1795245410397-0`, `user.42`
/// 36 ms later at sequence 35 and `board` 100 ms later at sequence 1. A position of 32 topics published within a
/// day of each other (sequences below 1,296) takes at most 11 + 32 × 18 bytes; the format is
/// bounded by ``maximumTopics`` entries and ``maximumLength`` bytes.
public struct StreamPosition: Sendable, Equatable, CustomStringConvertible {
    /// A topic's entry: its key and the last id delivered of it.
    public struct Entry: Sendable, Equatable {
        public var key: UInt32
        public var id: EventID
    }

    /// Sorted by key, one per key.
    public private(set) var entries: [Entry]

    /// Most topics one position holds: more than a stream may follow (`SSE_MAX_TOPICS` is at most this).
    public static let maximumTopics = 64
    /// Longest text form accepted: 64 entries of the longest numbers.
    public static let maximumLength = 3 + 13 + maximumTopics * (1 + 7 + 1 + 13 + 1 + 13)

    /// A position with no entries.
    public init() { entries = [] }

    /// The position of a stream of `topics` at `ids` (each topic's last delivered id, or where it started).
    /// Throws when two topics have the same key, or there are more than ``maximumTopics``.
    public init(_ ids: [Topic: EventID]) throws(StreamPositionError) {
        var entries: [Entry] = []
        var named: [UInt32: Topic] = [:]
        for (topic, id) in ids {
            let key = Self.key(of: topic)
            if let other = named.updateValue(topic, forKey: key) { throw .keysCollide(other.name, topic.name) }
            entries.append(Entry(key: key, id: id))
        }
        guard entries.count <= Self.maximumTopics else { throw .tooManyTopics(entries.count) }
        self.entries = entries.sorted { $0.key < $1.key }
    }

    /// The id this position holds for `topic`, if any.
    public func id(of topic: Topic) -> EventID? {
        let key = Self.key(of: topic)
        return entries.first { $0.key == key }?.id
    }

    /// Moves `topic`'s entry to `id` (adding it when missing); ids only move forward.
    public mutating func advance(_ topic: Topic, to id: EventID) {
        let key = Self.key(of: topic)
        if let index = entries.firstIndex(where: { $0.key >= key }) {
            if entries[index].key == key {
                if entries[index].id < id { entries[index].id = id }
            } else {
                entries.insert(Entry(key: key, id: id), at: index)
            }
        } else {
            entries.append(Entry(key: key, id: id))
        }
    }

    /// Drops `topic`'s entry (after a `resync` for data Redis lost, its ids start again).
    public mutating func remove(_ topic: Topic) {
        let key = Self.key(of: topic)
        entries.removeAll { $0.key == key }
    }

    /// The text form described above.
    public var description: String {
        guard let base = entries.lazy.map(\.id.milliseconds).min() else { return "p1" }
        var text = "p1." + String(base, radix: 36)
        for entry in entries {
            text += "." + String(entry.key, radix: 36) + "~" + String(entry.id.milliseconds - base, radix: 36)
            text += "-" + String(entry.id.sequence, radix: 36)
        }
        return text
    }

    /// Parses the text form; nil when it is not one (a plain id, or anything malformed). Client input: nothing is
    /// guessed, and keys must be strictly increasing.
    public init?(parsing text: some StringProtocol) {
        let bytes = Array(text.utf8)
        guard bytes.count >= 2, bytes.count <= Self.maximumLength, bytes[0] == UInt8(ascii: "p"),
            bytes[1] == UInt8(ascii: "1")
        else { return nil }
        guard bytes.count > 2 else {
            entries = []
            return
        }
        guard bytes[2] == UInt8(ascii: ".") else { return nil }
        let parts = bytes[3...].split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count >= 2, parts.count <= Self.maximumTopics + 1,
            let base = Self.number(parts[0], limit: UInt64.max)
        else { return nil }
        var entries: [Entry] = []
        var smallest = UInt64.max
        for part in parts.dropFirst() {
            guard let tilde = part.firstIndex(of: UInt8(ascii: "~")),
                let dash = part[tilde...].firstIndex(of: UInt8(ascii: "-")),
                let key = Self.number(part[..<tilde], limit: UInt64(UInt32.max)),
                let delta = Self.number(part[(tilde + 1)..<dash], limit: UInt64.max - base),
                let sequence = Self.number(part[(dash + 1)...], limit: UInt64.max)
            else { return nil }
            let entry = Entry(key: UInt32(key), id: EventID(milliseconds: base + delta, sequence: sequence))
            if let last = entries.last, last.key >= entry.key { return nil }
            smallest = min(smallest, delta)
            entries.append(entry)
        }
        // The base is the smallest milliseconds, so one delta is 0: the form is canonical.
        guard smallest == 0 else { return nil }
        self.entries = entries
    }

    /// A lowercase base-36 number of 1–13 digits without a leading zero (except `0` itself), at most `limit`.
    private static func number(_ digits: ArraySlice<UInt8>, limit: UInt64) -> UInt64? {
        guard (1...13).contains(digits.count), digits.count == 1 || digits.first != UInt8(ascii: "0") else {
            return nil
        }
        var value: UInt64 = 0
        for byte in digits {
            let digit: UInt64
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt64(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): digit = UInt64(byte - UInt8(ascii: "a")) + 10
            default: return nil
            }
            let (times, overflow1) = value.multipliedReportingOverflow(by: 36)
            let (sum, overflow2) = times.addingReportingOverflow(digit)
            guard !overflow1, !overflow2, sum <= limit else { return nil }
            value = sum
        }
        return value
    }

    /// FNV-1a, 32 bits, of the topic's name in UTF-8.
    public static func key(of topic: Topic) -> UInt32 {
        var hash: UInt32 = 0x811C_9DC5
        for byte in topic.name.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 0x0100_0193
        }
        return hash
    }
}

/// Why a stream's topics cannot share one ``StreamPosition``.
public enum StreamPositionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Two topics hash to the same key (about one pair in 80 million for 32 topics).
    case keysCollide(String, String)
    case tooManyTopics(Int)

    public var description: String {
        switch self {
        case .keysCollide(let first, let second):
            return "topics \(SSEProtocolError.quoted(first)) and \(SSEProtocolError.quoted(second)) cannot share a "
                + "stream on a Redis Cluster (their position keys are equal): open them in two streams"
        case .tooManyTopics(let count):
            return "a stream position holds at most \(StreamPosition.maximumTopics) topics, not \(count)"
        }
    }
}
