import Foundation

/// What a gateway node says about itself once a second (format version 1): the value of its registry key
/// `sse:{sse.nodes}:node:<id>` and, without the per-topic presence lists, the data of the `node` event on the
/// topic `sse.nodes`, and each entry of `GET /sse-nodes`. Public and decodable so that readers (the dashboard,
/// `ssectl top`, the test support) read typed fields.
///
/// A reader checks ``formatVersion`` (`v`) first: members are only ever added within a version; a change of meaning
/// or a removal bumps it. Times are Unix milliseconds on the node's clock; counters are totals since the node
/// started (a reader takes differences between beats for rates).
public struct NodeDocument: Codable, Sendable, Equatable {
    /// The format this code writes; `v` in the JSON.
    public static let currentFormat = 1

    /// The node's state: `ready` (takes streams), `draining` (SIGTERM: streams are being told to reconnect
    /// elsewhere), `not-ready` (see ``NodeDocument/reason``), `stopped` (its last event on `sse.nodes`, sent as it
    /// exits cleanly; never stored: its key is deleted at the same time).
    public enum State: String, Codable, Sendable {
        case ready
        case draining
        case notReady = "not-ready"
        case stopped
    }

    /// The node's presence: per-topic stream counts and the subjects (token `sub`s) of streams opened with a token.
    public struct Presence: Codable, Sendable, Equatable {
        /// Topics with at least one open stream on the node, whether listed or not.
        public var topicsTotal: Int
        /// The topics with the most streams (ties by name), at most ``NodePresence/maximumTopics``: present in the
        /// registry key only; nil in the published event and in `/sse-nodes`. A topic beyond the cap is not
        /// reported at all (its streams are in ``NodeDocument/streams`` but not in any topic's count).
        public var topics: [TopicPresence]?

        enum CodingKeys: String, CodingKey {
            case topicsTotal = "topics_total"
            case topics
        }

        public init(topicsTotal: Int, topics: [TopicPresence]?) {
            self.topicsTotal = topicsTotal
            self.topics = topics
        }
    }

    /// One topic's presence on one node.
    public struct TopicPresence: Codable, Sendable, Equatable {
        public var topic: String
        /// Open streams of the topic on the node (a stream of several topics counts in each).
        public var streams: Int
        /// Distinct subjects of the topic's token-authorized streams, sorted, at most
        /// ``NodePresence/maximumSubjects``.
        public var subjects: [String]
        /// Distinct subjects, listed or not.
        public var subjectsTotal: Int

        enum CodingKeys: String, CodingKey {
            case topic, streams, subjects
            case subjectsTotal = "subjects_total"
        }

        public init(topic: String, streams: Int, subjects: [String], subjectsTotal: Int) {
            self.topic = topic
            self.streams = streams
            self.subjects = subjects
            self.subjectsTotal = subjectsTotal
        }
    }

    public var formatVersion: Int
    public var nodeID: String
    /// The gateway's version (``NodeDocument/gatewayVersion``).
    public var version: String
    /// When the node started.
    public var startedMilliseconds: Int64
    /// When this beat was made.
    public var atMilliseconds: Int64
    /// The beat's number: 1 for the first, one more each second, so a reader sees a missed beat as a gap (the node
    /// counts beats it could not write to Redis too).
    public var beat: Int
    /// How long the registry key lives without another beat (`PX`): the node is gone this long after its last beat.
    public var ttlMilliseconds: Int
    public var state: State
    /// Why the node is not ready (nil when ready).
    public var reason: String?
    /// The address the node listens on, `host:port`, as configured (`0.0.0.0` means every interface).
    public var address: String?
    /// Open streams.
    public var streams: Int
    /// Event frames written to clients per second over the last few seconds.
    public var eventsPerSecond: Double
    public var connectionsTotal: Int
    /// Streams cut because their client read too slowly.
    public var slowConsumerCuts: Int
    /// Live deliveries not handed to an event loop that was too far behind (those streams read history instead).
    public var shedDeliveries: Int
    /// Connections answered 503 at once because the process was out of file descriptors.
    public var shedConnections: Int
    public var resyncs: Int
    /// Redis subscriber links up, and in all (one on a single Redis or Sentinel group; on a Cluster the control
    /// link plus one per shard).
    public var redisLinksUp: Int
    public var redisLinksTotal: Int
    /// Delivery latency (a reliable event's id timestamp to its write), median and 99th percentile over the node's
    /// recent window, in milliseconds; nil before the node relayed a reliable event live.
    public var deliveryP50Milliseconds: Double?
    public var deliveryP99Milliseconds: Double?
    public var presence: Presence

    enum CodingKeys: String, CodingKey {
        case formatVersion = "v"
        case nodeID = "node_id"
        case version
        case startedMilliseconds = "started_ms"
        case atMilliseconds = "at_ms"
        case beat
        case ttlMilliseconds = "ttl_ms"
        case state, reason, address, streams
        case eventsPerSecond = "events_per_second"
        case connectionsTotal = "connections_total"
        case slowConsumerCuts = "slow_consumer_cuts"
        case shedDeliveries = "shed_deliveries"
        case shedConnections = "shed_connections"
        case resyncs
        case redisLinksUp = "redis_links_up"
        case redisLinksTotal = "redis_links_total"
        case deliveryP50Milliseconds = "delivery_p50_ms"
        case deliveryP99Milliseconds = "delivery_p99_ms"
        case presence
    }

    public init(
        nodeID: String, version: String = Self.gatewayVersion, startedMilliseconds: Int64, atMilliseconds: Int64,
        beat: Int, ttlMilliseconds: Int, state: State, reason: String? = nil, address: String? = nil, streams: Int,
        eventsPerSecond: Double, connectionsTotal: Int, slowConsumerCuts: Int, shedDeliveries: Int,
        shedConnections: Int, resyncs: Int, redisLinksUp: Int, redisLinksTotal: Int,
        deliveryP50Milliseconds: Double? = nil, deliveryP99Milliseconds: Double? = nil,
        presence: Presence = Presence(topicsTotal: 0, topics: nil)
    ) {
        formatVersion = Self.currentFormat
        self.nodeID = nodeID
        self.version = version
        self.startedMilliseconds = startedMilliseconds
        self.atMilliseconds = atMilliseconds
        self.beat = beat
        self.ttlMilliseconds = ttlMilliseconds
        self.state = state
        self.reason = reason
        self.address = address
        self.streams = streams
        self.eventsPerSecond = eventsPerSecond
        self.connectionsTotal = connectionsTotal
        self.slowConsumerCuts = slowConsumerCuts
        self.shedDeliveries = shedDeliveries
        self.shedConnections = shedConnections
        self.resyncs = resyncs
        self.redisLinksUp = redisLinksUp
        self.redisLinksTotal = redisLinksTotal
        self.deliveryP50Milliseconds = deliveryP50Milliseconds
        self.deliveryP99Milliseconds = deliveryP99Milliseconds
        self.presence = presence
    }

    /// The version string nodes report; bumped with releases.
    public static let gatewayVersion = "0.16.0"

    /// The same document without the per-topic presence lists: what goes on `sse.nodes` and into `/sse-nodes`,
    /// where topic names and subjects of private topics must not be shown to whoever may read those.
    public var summary: NodeDocument {
        var copy = self
        copy.presence.topics = nil
        return copy
    }

    /// The compact JSON of the document, keys sorted (so equal documents are equal bytes).
    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(self)) ?? Data("{}".utf8))
    }

    /// Decodes a stored document; nil for anything that is not a version this code reads.
    public static func decode(_ bytes: some Collection<UInt8>) -> NodeDocument? {
        guard let document = try? JSONDecoder().decode(NodeDocument.self, from: Data(bytes)),
            document.formatVersion == currentFormat
        else { return nil }
        return document
    }
}

/// Where the node registry lives in Redis (all under the hash tag `{sse.nodes}`, one Cluster slot), for the nodes
/// that write it and the readers (the publisher's dashboard, `ssectl top`).
public enum NodeRegistryKeys {
    /// The topic every node publishes its summary on once a second (event `node`).
    public static let topic = try! Topic(validating: "sse.nodes")
    /// Sorted set of node ids scored by when their key expires (Unix ms).
    public static let members = "sse:{sse.nodes}:members"
    /// A node's document, written with `PX` each beat.
    public static func node(_ id: String) -> String { "sse:{sse.nodes}:node:" + id }
    /// A node's last ``beatsKept`` summaries, newest first (a list), for the dashboard's charts.
    public static func beats(_ id: String) -> String { "sse:{sse.nodes}:beats:" + id }
    /// Beats kept per node: five minutes at one a second.
    public static let beatsKept = 300
}
