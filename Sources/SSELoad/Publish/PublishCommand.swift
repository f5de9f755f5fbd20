import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import RedisClient
import SSEHistory
import SSEProtocol

/// `sse-load publish`: sends numbered, timestamped events to a topic, reliably through Redis (`sse_publish`, as
/// the gateway's publishers do) or by HTTP `POST` (nchan's publisher location).
///
/// With `--connections K` the events go over K connections, each a lane with its own numbering (see ``Payload``)
/// and a K-th of the rate and count: a server that handles one connection's requests one at a time (nginx with
/// pipelined requests) is then not held to one request in flight.
struct PublishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Publish M numbered events at rate R of S bytes (sse_publish through Redis, or HTTP POST).")

    @Option(help: "Redis URL: publish with FCALL sse_publish (reliable: history and a global id).")
    var redisURL: String?
    @Option(help: "Topic name (with --redis-url).") var topic: String?
    @Option(help: "Publisher URL: POST each payload there instead, e.g. http://127.0.0.1:8081/pub/s1.")
    var url: String?
    @Option(help: "Events to publish in all (0: as many as fit in --duration).") var count = 0
    @Option(help: "Events per second in all (0: as fast as replies allow).") var rate = 100.0
    @Option(help: "Payload size in bytes (at least the `seq=… t=…` header).") var size = 200
    @Option(help: "Longest the publisher runs, in seconds.") var duration = 60.0
    @Option(help: "Events sent but not yet answered, at most, per connection.") var window = 64
    @Option(help: "Connections (lanes), 1–16.") var connections = 1
    @Option(help: "History length (maxlen) passed to sse_publish.") var historyLength = 1000
    @Option(
        help: """
            Spread the events over this many topics, <topic>-0 … (or <url>-0 …): event k (from 1) goes to topic \
            (k − 1) % N as that topic's event (k − 1) / N + 1, so each topic's sequence has no gaps (0: one topic).
            """)
    var topics = 0

    func validate() throws {
        guard (1...Payload.maximumLanes).contains(connections) else {
            throw ValidationError("--connections \(connections) is invalid: use 1 to \(Payload.maximumLanes)")
        }
        guard (redisURL == nil) != (url == nil) else {
            throw ValidationError("give --redis-url and --topic (reliable publish) or --url (HTTP POST), one of them")
        }
        guard redisURL == nil || topic != nil else { throw ValidationError("--redis-url needs --topic") }
        guard topics == 0 || connections == 1 else {
            throw ValidationError("--topics needs --connections 1 (each topic's sequence comes from one lane)")
        }
    }

    func run() async throws {
        let size = self.size
        var senders: [(loop: any EventLoop, makeSend: @Sendable () -> PublishPacer.Send)] = []
        let destination: String
        for lane in 0..<connections {
            let loop = MultiThreadedEventLoopGroup.singleton.next()
            if let redisURL, let topic {
                let names = try Self.topicNames(topic, count: topics).map { try Topic(validating: $0) }
                let spread = UInt64(names.count)
                let connection = try await RedisConnection.connect(
                    configuration: try RedisConfiguration(url: redisURL), eventLoop: loop)
                if lane == 0 { try await History(runner: connection).install() }
                let maxLength = historyLength
                senders.append(
                    (
                        loop,
                        {
                            { sequence in
                                let data = Payload.make(
                                    sequence: (sequence - 1) / spread + 1, timestamp: Clock.wallNanoseconds(),
                                    lane: lane,
                                    size: size)
                                let name = names[Int((sequence - 1) % spread)]
                                let command = History.publishCommand(name, event: nil, data: data, maxLength: maxLength)
                                return connection.sendFuture(command).flatMapThrowing { reply in
                                    _ = try History.eventID(fromPublishReply: reply)
                                }
                            }
                        }
                    ))
            } else if let url {
                let publisher = try await HTTPPublisher.connect(url: url, on: loop)
                let suffixes = topics > 0 ? (0..<topics).map { "-\($0)" } : [""]
                let spread = UInt64(suffixes.count)
                senders.append(
                    (
                        loop,
                        {
                            { sequence in
                                publisher.value.send(
                                    Payload.make(
                                        sequence: (sequence - 1) / spread + 1, timestamp: Clock.wallNanoseconds(),
                                        lane: lane,
                                        size: size),
                                    pathSuffix: suffixes[Int((sequence - 1) % spread)])
                            }
                        }
                    ))
            }
        }
        destination = redisURL.map { "\($0) topic \(topic ?? "")" } ?? url ?? ""

        let lanes = senders.count
        let total = UInt64(max(count, 0))
        let (window, duration) = (self.window, TimeAmount.milliseconds(Int64(self.duration * 1000)))
        let laneRate = rate / Double(lanes)
        let outcomes = try await withThrowingTaskGroup(of: PublishOutcome.self) { group in
            for (lane, sender) in senders.enumerated() {
                let laneCount = total == 0 ? 0 : total / UInt64(lanes) + (UInt64(lane) < total % UInt64(lanes) ? 1 : 0)
                group.addTask {
                    try await sender.loop.flatSubmit {
                        PublishPacer(
                            eventLoop: sender.loop, count: laneCount, rate: laneRate, window: window,
                            duration: duration, send: sender.makeSend()
                        ).start()
                    }.get()
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let result = PublishResult(
            destination: destination, rate: rate, size: size, connections: lanes,
            outcome: PublishOutcome.combined(outcomes), cpuSeconds: Clock.processCPUSeconds())
        print(result.table)
        print(result.jsonLine)
    }

    /// `topic`, or `topic-0` … `topic-<count − 1>` when the events are spread.
    static func topicNames(_ topic: String, count: Int) -> [String] {
        count > 0 ? (0..<count).map { "\(topic)-\($0)" } : [topic]
    }
}
