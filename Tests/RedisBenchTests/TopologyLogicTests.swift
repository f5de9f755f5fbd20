import RedisClient
import SSEProtocol
import Testing

@testable import RedisBench

#if canImport(Glibc)
    import Glibc
#endif

/// The parts of `redis-bench --only topology` that need no server: CPU time read from `/proc/PID/stat` lines and
/// the topics spread evenly over a Cluster's shards.
@Suite struct TopologyLogicTests {
    /// A `redis-server` stat line whose command name holds spaces and parentheses; utime 1234, stime 567.
    static let statLine =
        "4242 (redis-server (x) *:6379) S 1 4242 4242 0 -1 4194560 2000 0 0 0 1234 567 0 0 20 0 5 0 100 "
        + "10000000 2000 18446744073709551615 1 1 0 0 0 0 0 4097 17 1 0 0 0 0 0\n"

    @Test func utimeAndStimeAreReadAfterTheLastParenthesisOfTheCommandName() {
        #expect(ProcessCPU.ticks(statLine: Self.statLine) == 1801)
    }

    @Test func aLineThatIsNotAStatLineGivesNoTicks() {
        #expect(ProcessCPU.ticks(statLine: "no parenthesis 1 2 3") == nil)
        #expect(ProcessCPU.ticks(statLine: "1 (short) S 1 2 3") == nil)
        #expect(ProcessCPU.ticks(statLine: "1 (x) S 1 2 3 4 5 6 7 8 9 10 eleven 12 13") == nil)
    }

    @Test func ticksBecomeMicrosecondsAtTheClockRate() {
        #expect(ProcessCPU.microseconds(ticks: 1801, ticksPerSecond: 100) == 18_010_000)
        #expect(ProcessCPU.microseconds(ticks: 3, ticksPerSecond: 1000) == 3000)
    }

    @Test func theRunningProcessHasAReadableCPUTime() {
        let own = ProcessCPU.microseconds(of: [getpid()])
        #expect(own >= 0)
        #expect(ProcessCPU.microseconds(of: [0]) == 0)
    }

    /// The slot ranges `redis-cli --cluster create` gives three primaries.
    static let threeShards = ClusterSlotMap(
        shards: [(0...5460, 7000), (5461...10922, 7001), (10923...16383, 7002)].map { range, port in
            ClusterShard(
                slotRanges: [range],
                primary: ClusterNode(id: "n\(port)", endpoint: .tcp(host: "127.0.0.1", port: port), role: .primary))
        })

    @Test func everyShardGetsExactlyItsShareOfTopicsAndEachTopicLivesOnItsShard() {
        let spread = ShardTopics.spread(perShard: 5, over: Self.threeShards)
        #expect(spread.map(\.count) == [5, 5, 5])
        for (index, topics) in spread.enumerated() {
            let range = Self.threeShards.shards[index].slotRanges[0]
            for topic in topics { #expect(range.contains(HashSlot(key: topic.historyKey).value)) }
        }
        let names = spread.flatMap { $0 }.map(\.name)
        #expect(Set(names).count == 15)
        #expect(names.allSatisfy { $0.hasPrefix("bench-") })
    }

    @Test func theSpreadIsTheSameOnEveryRun() {
        #expect(
            ShardTopics.spread(perShard: 4, over: Self.threeShards)
                == ShardTopics.spread(perShard: 4, over: Self.threeShards))
    }

    @Test func aShardsConnectionsSplitItsTopicsWithoutOverlap() throws {
        let topics = try (0..<7).map { try Topic(validating: "t\($0)") }
        let shares = (0..<3).map { ShardTopics.share(of: topics, connection: $0, of: 3) }
        #expect(shares.map { $0.map(\.name) } == [["t0", "t3", "t6"], ["t1", "t4"], ["t2", "t5"]])
        #expect(ShardTopics.share(of: Array(topics.prefix(2)), connection: 3, of: 4).map(\.name) == ["t1"])
    }
}
