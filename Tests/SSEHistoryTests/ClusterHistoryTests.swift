import LocalRedis
import NIOCore
import NIOPosix
import RedisClient
import SSEHistory
import SSEProtocol
import Synchronization
import Testing

/// Reliable publish and replay on a real three-primary Redis Cluster: per-topic clocks, `sse_publish_sharded` on
/// each topic's shard, per-topic replay.
///
/// A cluster takes seconds to start, so one test runs the whole sequence on one cluster (no replicas: nothing here
/// fails over), each step checking exact ids, payloads and counts.
@Suite("Reliable publish and replay on a Redis Cluster", .serialized)
struct ClusterHistoryTests {
    /// Three topics whose slots are served by three different primaries of `map`, and the primary of each.
    static func topicsOnEveryShard(_ map: ClusterSlotMap) throws -> [(Topic, RedisConfiguration.Endpoint)] {
        var found: [RedisConfiguration.Endpoint: Topic] = [:]
        var index = 0
        while found.count < map.shards.count {
            let topic = try Topic(validating: "room-\(index)")
            if let owner = map.primary(for: HashSlot(key: topic.historyKey)), found[owner] == nil {
                found[owner] = topic
            }
            index += 1
        }
        return map.primaries.map { (found[$0]!, $0) }
    }

    static func port(_ endpoint: RedisConfiguration.Endpoint) -> Int {
        if case .tcp(_, let port) = endpoint { return port }
        return 0
    }

    @Test func publishesTakePerTopicIdsGoToTheShardAndReplayPerTopic() async throws {
        var options = LocalRedisCluster.Options(primaries: 3, replicasPerPrimary: 0)
        options.startTimeout = .seconds(60)
        let redis = try await LocalRedisCluster.start(options)
        defer { redis.stop() }
        let cluster = RedisClusterClient(seeds: redis.seeds, configuration: redis.configuration)
        let history = History(cluster: cluster)
        #expect(history.isCluster)
        #expect(!History(runner: cluster.routed(key: "x")).isCluster)
        do {
            let map = try await cluster.start()
            try await history.install()
            for endpoint in map.primaries {
                let list = try await redis.command(Self.port(endpoint), ["FUNCTION", "LIST", "LIBRARYNAME", "sse"])
                #expect(list.array?.count == 1, "the sse library on \(endpoint)")
            }
            let placed = try Self.topicsOnEveryShard(map)
            let topics = placed.map(\.0)
            #expect(Set(placed.map(\.1)).count == 3)

            // One shard subscriber (SSUBSCRIBE) and one classic subscriber on the first topic's channel.
            let first = topics[0]
            let sharded = Mutex<[String]>([])
            let shardSubscriber = RedisClusterSubscriber(
                cluster: cluster, eventLoop: MultiThreadedEventLoopGroup.singleton.next()
            ) { event in
                if case .message(let channel, let payload) = event {
                    sharded.withLock { $0.append("\(channel)=\(String(buffer: payload))") }
                }
            }
            let classic = Mutex<[String]>([])
            let classicSubscriber = RedisSubscriber(
                configuration: cluster.configuration(ofNode: placed[0].1),
                eventLoop: MultiThreadedEventLoopGroup.singleton.next()
            ) { event in
                if case .message(let channel, let payload) = event {
                    classic.withLock { $0.append("\(channel)=\(String(buffer: payload))") }
                }
            }
            classicSubscriber.start()
            try await shardSubscriber.subscribe([first.channel])
            try await classicSubscriber.subscribe([first.channel, "marker"])

            // Five rounds over the three topics; the first topic's last publish is idempotent.
            var ids: [Topic: [EventID]] = [:]
            for round in 0..<5 {
                for topic in topics {
                    ids[topic, default: []].append(
                        try await history.publish(topic, event: "e", data: "\(topic)-\(round)", maxLength: 100))
                }
            }
            let key = try IdempotencyKey(validating: "order-1")
            let receipt = try await history.publish(
                first, event: nil, data: "once", maxLength: 100, idempotencyKey: key, windowSeconds: 60)
            let repeated = try await history.publish(
                first, event: nil, data: "twice", maxLength: 100, idempotencyKey: key, windowSeconds: 60)
            #expect(!receipt.isReplay)
            #expect(repeated == History.Receipt(id: receipt.id, isReplay: true))
            ids[first]!.append(receipt.id)
            for topic in topics {
                let list = ids[topic]!
                #expect(zip(list, list.dropFirst()).allSatisfy { $0 < $1 }, "ids of \(topic) increase: \(list)")
            }

            // The shard subscriber gets each message of the first topic, in order; the classic one none of them
            // (its marker, published after them on the same node, arrives alone).
            // A fire-and-forget publish goes to the same shard subscribers, with SPUBLISH.
            #expect(try await history.publishFireAndForget(first, payload: "live only") == 1)
            let expected =
                (0..<5).map { "\(first.channel)=\u{1E}sse1 \(ids[first]![$0]) e\n\(first)-\($0)" }
                + ["\(first.channel)=\u{1E}sse1 \(receipt.id) \nonce", "\(first.channel)=live only"]
            try await waitUntil("seven messages on the shard subscriber") { sharded.withLock { $0.count } >= 7 }
            #expect(sharded.withLock { $0 } == expected)
            _ = try await redis.command(Self.port(placed[0].1), ["PUBLISH", "marker", "after"])
            try await waitUntil("the marker on the classic subscriber") { !classic.withLock { $0.isEmpty } }
            #expect(classic.withLock { $0 } == ["marker=after"])
            await shardSubscriber.close()
            await classicSubscriber.close()

            // Every clock is the topic's own, on its shard; no shared clock anywhere.
            let lastIDs = try await history.lastIDs(of: topics + [try Topic(validating: "never-published")])
            #expect(lastIDs == Dictionary(uniqueKeysWithValues: topics.map { ($0, ids[$0]!.last!) }))
            for (topic, endpoint) in placed {
                let last = try await redis.command(Self.port(endpoint), ["HGET", topic.clockKey, "last"])
                #expect(last.string == ids[topic]!.last!.description)
            }
            #expect(try await cluster.send(RedisCommand("EXISTS", "sse:clock"), key: "sse:clock") == .integer(0))

            // Each topic resumes after its own id.
            let positions = [
                topics[0]: ids[topics[0]]![1], topics[1]: ids[topics[1]]![3], topics[2]: ids[topics[2]]![4],
            ]
            let resumed = try await history.events(after: positions, limit: 100)
            #expect(resumed.count == 3)
            #expect(Self.ids(resumed[topics[0]]) == Array(ids[topics[0]]![2...]))
            #expect(Self.ids(resumed[topics[1]]) == [ids[topics[1]]![4]])
            #expect(Self.ids(resumed[topics[2]]) == [])
            #expect(
                try await history.events(after: [topics[1]: ids[topics[1]]![0]], limit: 3)
                    == [topics[1]: .limitExceeded(topics[1])])

            // From each clock's origin: all sixteen events, merged in id order.
            guard case .events(let all) = try await history.eventsFromOrigin(in: topics, limit: 100) else {
                Issue.record("eventsFromOrigin did not answer events")
                return
            }
            #expect(all.count == 16)
            #expect(
                Set(all.map { "\($0.topic)/\($0.event.id!)" })
                    == Set(
                        topics.flatMap { topic in
                            ids[topic]!.map { "\(topic)/\($0)" }
                        }))
            #expect(zip(all, all.dropFirst()).allSatisfy { $0.event.id! <= $1.event.id! })
            // One id across topics: per topic on its shard; the first topic that cannot answer decides.
            let early = ids[topics[1]]![0]
            #expect(
                try await history.events(after: early, in: [topics[1]], limit: 100)
                    == .events(
                        Array(ids[topics[1]]![1...]).enumerated().map { index, id in
                            TopicEvent(
                                topic: topics[1],
                                event: ServerSentEvent(
                                    id: id, event: try! EventName(validating: "e"),
                                    data: ByteBuffer(string: "\(topics[1])-\(index + 1)")))
                        }))

            // Revocations round trip through their own slot.
            let revocation = ControlMessage.Revocation(
                target: .subject("mallory"), at: 1_000, until: 4_000_000_000, reason: "test")
            _ = try await history.revoke(revocation)
            let kept = try await history.revocations(now: 2_000)
            #expect(kept.count == 1)
            #expect(kept.first?.contains("\"subject\":\"mallory\"") == true)

            // A shard that lost its functions gets them back on the next publish there.
            let lost = placed[1]
            _ = try await redis.command(Self.port(lost.1), ["FUNCTION", "FLUSH"])
            let again = try await history.publish(lost.0, event: nil, data: "back", maxLength: 100)
            #expect(again > ids[lost.0]!.last!)
            let list = try await redis.command(Self.port(lost.1), ["FUNCTION", "LIST", "LIBRARYNAME", "sse"])
            #expect(list.array?.count == 1)

            // The pipelined form, sharded, on one topic's shard.
            let commands = (0..<3).map { index in
                History.publishCommand(lost.0, event: nil, data: "p\(index)", maxLength: 100, sharded: true)
            }
            let pipelined = try await cluster.pipeline(commands, key: lost.0.historyKey)
                .map(History.eventID(fromPublishReply:))
            #expect(pipelined.count == 3)
            #expect(pipelined.first! > again)
            #expect(zip(pipelined, pipelined.dropFirst()).allSatisfy { $0 < $1 })

            // A write its shard lost (as when the replica that took over never got it, clock step included) is
            // marked by the publisher's check, `sse_confirm_sharded`, on the topic's shard, above the lost id.
            let (victim, victimNode) = placed[2]
            let lostID = ids[victim]!.last!
            let entries = try await redis.command(Self.port(victimNode), ["XRANGE", victim.historyKey, "-", "+"])
            _ = try await redis.command(Self.port(victimNode), ["DEL", victim.historyKey])
            for entry in entries.array ?? [] {
                guard let parts = entry.array, let id = parts[0].string, id != lostID.description,
                    let fields = parts[1].array?.compactMap(\.string)
                else { continue }
                _ = try await redis.command(Self.port(victimNode), ["XADD", victim.historyKey, id] + fields)
            }
            let keptID = ids[victim]![3]
            _ = try await redis.command(Self.port(victimNode), ["HSET", victim.clockKey, "last", keptID.description])
            guard
                case .lost(let marker, isNew: true) = try await history.confirm(
                    victim, acknowledged: lostID, maxLength: 100)
            else {
                Issue.record("the lost write was not found lost on its shard")
                return
            }
            #expect(marker > lostID)
            let resync = ServerSentEvent(
                id: marker, event: try EventName(validating: "resync"), data: History.lostNotice(for: victim))
            #expect(
                try await history.events(after: [victim: keptID], limit: 10)
                    == [victim: .events([TopicEvent(topic: victim, event: resync)])])
            #expect(try await history.confirm(victim, acknowledged: marker, maxLength: 100) == .held)
            await cluster.close()
        } catch {
            await cluster.close()
            throw error
        }
    }

    static func ids(_ result: HistoryResult?) -> [EventID]? {
        guard case .events(let events)? = result else { return nil }
        return events.map { $0.event.id! }
    }
}

extension RedisClusterClient {
    /// One node's configuration, for a plain connection to it.
    func configuration(ofNode endpoint: RedisConfiguration.Endpoint) -> RedisConfiguration {
        var configuration = template
        configuration.endpoint = endpoint
        return configuration
    }
}
