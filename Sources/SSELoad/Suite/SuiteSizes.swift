/// The sizes of every scenario, full or quick (`--quick`: a smoke run of a few minutes that checks the suite works).
struct SuiteSizes: Codable, Sendable {
    /// A delivery scenario: streams, events per second in all, seconds of publishing, topics (0: one topic).
    struct Delivery: Codable, Sendable {
        var streams: Int
        var rate: Int
        var seconds: Int
        var topics = 0
        var events: Int { rate * seconds }
    }

    var s1: Delivery
    var s2: Delivery
    /// S3: a fixed 200 events/s to 1,000 streams, 200,000 deliveries/s.
    var s3: Delivery
    /// S7: each stream on its own topic, events spread over the topics.
    var s7: Delivery
    /// S4/S6: idle streams opened on a fresh server.
    var s4Streams: Int
    /// S5: idle streams with heartbeats on one node, and the hold over which CPU is measured.
    var s5Streams: Int
    var s5Hold: Int
    /// S8: idle streams per node wanted (fewer when a node's own descriptors leave less room), five nodes.
    var s8StreamsPerNode: Int
    var s8Hold: Int
    var payloadSize = 200

    static let full = SuiteSizes(
        s1: Delivery(streams: 1_000, rate: 100, seconds: 20), s2: Delivery(streams: 10_000, rate: 10, seconds: 20),
        s3: Delivery(streams: 1_000, rate: 200, seconds: 15),
        s7: Delivery(streams: 10_000, rate: 10_000, seconds: 10, topics: 10_000), s4Streams: 10_000,
        s5Streams: 19_500, s5Hold: 20, s8StreamsPerNode: 20_000, s8Hold: 20)

    static let quick = SuiteSizes(
        s1: Delivery(streams: 200, rate: 100, seconds: 5), s2: Delivery(streams: 2_000, rate: 10, seconds: 5),
        s3: Delivery(streams: 200, rate: 200, seconds: 4),
        s7: Delivery(streams: 1_000, rate: 1_000, seconds: 4, topics: 1_000), s4Streams: 2_000,
        s5Streams: 4_000, s5Hold: 6, s8StreamsPerNode: 2_000, s8Hold: 6)

    /// Streams per load process at most: each process may open 20,000 files (hard limit), and needs some of its own.
    static let streamsPerProcess = 9_950
    /// The per-process file limit of this machine (hard), which no process of the suite can pass.
    static let fileLimit = 20_000
}
