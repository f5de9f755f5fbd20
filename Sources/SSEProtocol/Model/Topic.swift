/// A topic clients subscribe to and publishers publish on, e.g. `chat.room-1` or `orders:eu`.
///
/// The name is restricted to ASCII letters, digits and `- _ . :` so it can be used unescaped in a URL query, a
/// Redis key, a log line and a metrics label, and so `{` and `}` (the Redis Cluster hash-tag braces) never occur
/// inside it. Every Redis name of a topic carries the name as a hash tag, `sse:{NAME}`, so the pub/sub channel, the
/// history stream and (on a Redis Cluster) the topic's clock land in the same cluster slot.
public struct Topic: Hashable, Sendable, Comparable {
    /// Longest accepted name, in characters (all ASCII, so also bytes).
    public static let maximumLength = 128

    /// The name as given, e.g. `chat.room-1`.
    public let name: String

    /// Accepts 1–128 ASCII letters, digits and `- _ . :`; anything else is ``SSEProtocolError/invalidTopic(_:)``.
    public init(validating name: String) throws(SSEProtocolError) {
        guard Self.isValid(name.utf8) else { throw .invalidTopic(name) }
        self.name = name
    }

    /// The topic a pub/sub channel `sse:{NAME}` belongs to; nil for any other channel (another application's, a
    /// history key, a malformed name).
    public init?(channel: String) {
        let bytes = channel.utf8
        guard bytes.count >= Self.channelPrefix.count + 2, bytes.starts(with: Self.channelPrefix.utf8),
            bytes.last == UInt8(ascii: "}")
        else { return nil }
        let name = bytes.dropFirst(Self.channelPrefix.utf8.count).dropLast()
        guard Self.isValid(name) else { return nil }
        self.name = String(Substring(name))
    }

    /// The pub/sub channel live events are published on: `sse:{NAME}`.
    public var channel: String { Self.channelPrefix + name + "}" }

    /// The capped stream that keeps recent reliable events for replay: `sse:{NAME}:history`.
    public var historyKey: String { Self.channelPrefix + name + "}:history" }

    /// The topic's own id clock on a Redis Cluster: `sse:{NAME}:clock` (fields `last` and `origin`), in the slot of
    /// the channel and the history stream, so one `FCALL` touches one slot. A single Redis (and a Sentinel group)
    /// uses the one shared clock `sse:clock` instead (see `HistoryLibrary`).
    public var clockKey: String { Self.channelPrefix + name + "}:clock" }

    public static func < (lhs: Topic, rhs: Topic) -> Bool { lhs.name < rhs.name }

    static let channelPrefix = "sse:{"

    static func isValid(_ bytes: some Collection<UInt8>) -> Bool {
        guard !bytes.isEmpty, bytes.count <= maximumLength else { return false }
        return bytes.allSatisfy(isAllowed)
    }

    @inline(__always)
    static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
            UInt8(ascii: ":"):
            return true
        default:
            return false
        }
    }
}

extension Topic: CustomStringConvertible {
    public var description: String { name }
}
