import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import RedisClient
import SSEHistory
import SSEProtocol
import ServiceLifecycle
import Synchronization

/// A gateway node as a `Service`: installs the Redis functions, subscribes, serves HTTP, and on graceful shutdown
/// drains its streams before returning.
public final class Gateway: Service, Sendable {
    public let configuration: GatewayConfiguration
    public let stats = GatewayStats()
    let logger: Logger
    let fanout: Fanout
    let history: HistoryReader
    let cors: CORSPolicy
    let streamLimits: StreamLimits
    /// Who may read which topic (private topics, tokens, revocations).
    let authorizer: StreamAuthorizer
    private let group: MultiThreadedEventLoopGroup
    /// The Redis subscriber's thread: it does no fan-out, so the subscription is read however busy the client
    /// loops are (a loop that falls behind sheds instead, see ``GatewayConfiguration/maxLoopBacklogBytes``).
    private let subscriberGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let redisConnector: RedisConnector
    private let redis: RedisClient
    /// On a Redis Cluster (`redis-cluster://`): the slot map and the connection to each primary.
    private let cluster: RedisClusterClient?
    private let metrics: MetricsBridge
    private let renderPrometheus: (@Sendable () -> String)?
    private let boundPort = Mutex<Int?>(nil)
    private let descriptorReserve = DescriptorReserve()
    /// The node registry and presence (Registry/): this node's beat, the live nodes, who is subscribed.
    let registry: NodeRegistry
    let presence: NodePresence
    /// The join/leave events, when ``GatewayConfiguration/presenceEvents`` is on.
    let presenceEvents: PresenceEvents?
    /// When the node started, Unix milliseconds (`started_ms` in its registry document).
    let startedMilliseconds = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))

    /// - Parameter renderPrometheus: renders the Prometheus registry the executable bootstrapped, for `/metrics`.
    public init(
        configuration: GatewayConfiguration, group: MultiThreadedEventLoopGroup, logger: Logger,
        renderPrometheus: (@Sendable () -> String)? = nil
    ) async throws {
        self.configuration = configuration
        self.group = group
        var logger = logger
        logger[metadataKey: "sse.node"] = "\(configuration.nodeID)"
        self.logger = logger
        let topology = try RedisTopology(url: configuration.redisURL)
        self.redisConnector = RedisConnector(topology: topology, logger: logger)
        self.redis = RedisClient(connector: redisConnector, eventLoopGroup: group, logger: logger)
        if case .cluster(let seeds) = topology {
            self.cluster = RedisClusterClient(
                seeds: seeds.seeds.map { .tcp(host: $0.host, port: $0.port) },
                configuration: seeds.node(seeds.seeds[0]), eventLoopGroup: group, logger: logger)
        } else {
            self.cluster = nil
        }
        let loops = Array(group.makeIterator())
        let commands = cluster.map { History(cluster: $0) } ?? History(runner: redis)
        self.history = HistoryReader(
            history: commands,
            historyLength: configuration.historyLength, eventLoop: loops[0])
        self.cors = CORSPolicy(
            allowedOrigins: configuration.allowedOrigins, allowedHeaders: configuration.allowedHeaders)
        self.authorizer = try await configuration.access.authorizer()
        self.fanout = Fanout(
            eventLoops: loops, hubLoop: subscriberGroup.next(), history: history, nodeID: configuration.nodeID,
            heartbeatInterval: configuration.heartbeatInterval,
            maxLoopBacklogBytes: configuration.maxLoopBacklogBytes, stats: stats, logger: logger,
            revocations: authorizer.revocations, idsPerTopic: cluster != nil)
        self.streamLimits = StreamLimits(configuration: configuration, stats: stats)
        self.metrics = MetricsBridge(stats: stats, nodeID: configuration.nodeID)
        self.registry = NodeRegistry(nodeID: configuration.nodeID, history: commands, logger: logger)
        let events =
            configuration.presenceEvents
            ? PresenceEvents(history: commands, nodeID: configuration.nodeID, logger: logger) : nil
        self.presenceEvents = events
        if let events {
            self.presence = NodePresence(onTransition: { @Sendable transition in events.enqueue(transition) })
        } else {
            self.presence = NodePresence()
        }
        self.renderPrometheus = renderPrometheus
    }

    /// Ids are per topic (a Redis Cluster): streams of several topics carry stream positions.
    var idsPerTopic: Bool { cluster != nil }

    /// The port the server listens on, once bound (useful with port 0).
    public var port: Int? { boundPort.withLock { $0 } }

    /// Nil when ready to take streams; otherwise why not.
    var notReadyReason: String? {
        if stats.draining.load(ordering: .relaxed) { return "draining" }
        if let problem = stats.redisLinkProblem { return problem }
        return refusalReason
    }

    /// Nil when a new stream is taken; otherwise why it is answered 503. The same as ``notReadyReason`` but for one
    /// case: on a Redis Cluster a shard link that is down or failed its probe makes the node not ready (a load
    /// balancer should prefer others) without turning streams away — a shard's failover takes every node's link to
    /// it down at once, and `EventSource` gives up for good on a 503. Such a stream is answered and gets its
    /// opening comment once its topics are subscribed on their shards' primaries.
    var refusalReason: String? {
        if stats.draining.load(ordering: .relaxed) { return "draining" }
        if cluster == nil, let problem = stats.redisLinkProblem { return problem }
        if !stats.redisConnected.load(ordering: .relaxed) { return "Redis subscription is down" }
        // A node that has not read the revocations kept in Redis would take tokens revoked while it was away.
        if authorizer.verifier != nil, !stats.auth.revocationsLoaded.load(ordering: .relaxed) {
            return "revocations not yet loaded from Redis"
        }
        return nil
    }

    public func run() async throws {
        let node = fanout.node
        // Events arrive on the hub loop, where the node hub lives.
        var options = RedisSubscriber.Options()
        options.probeInterval = configuration.redisProbeInterval
        options.probeTimeout = configuration.redisProbeTimeout
        let subscriber: RedisSubscriber
        var shards: RedisClusterSubscriber?
        var slotMap: Task<Void, Never>?
        if let cluster {
            // Topic channels on their shards; the control channel, a classic subscription, on any node. Every link
            // is probed, and readiness and the metrics cover them all.
            subscriber = RedisSubscriber(
                connector: redisConnector, eventLoop: node.eventLoop, options: options, logger: logger,
                onEvent: { event in node.value.handle(control: event) })
            var shardOptions = RedisClusterSubscriber.Options()
            shardOptions.link = options
            let sharded = RedisClusterSubscriber(
                cluster: cluster, eventLoop: node.eventLoop, options: shardOptions, logger: logger,
                onEvent: { event in node.value.handle(cluster: event) })
            shards = sharded
            stats.followRedisLinks { subscriber.links + sharded.links }
            fanout.start(subscription: ClusterSubscription(control: subscriber, shards: sharded))
            slotMap = Task { [logger] in await Self.startSlotMap(cluster, logger: logger) }
        } else {
            subscriber = RedisSubscriber(
                connector: redisConnector, eventLoop: node.eventLoop, options: options, logger: logger,
                onEvent: { event in node.value.handle(event) })
            stats.followRedisLinks { subscriber.links }
            fanout.start(subscription: subscriber)
        }
        subscriber.start()
        let installer = Task { [history, logger] in await history.installLibrary(logger: logger) }

        // Sampled from a task, not an event loop: a loop busy fanning out must not starve the figures.
        let sampler = Task { [stats, metrics] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                stats.sampleRate()
                metrics.sync()
            }
        }
        let server = try await bind()
        let beats = startRegistry()
        logger.info(
            "gateway listening",
            metadata: [
                "sse.address": "\(configuration.host):\(port ?? 0)", "redis.url": "\(redisConnector.displayURL)",
            ])

        try await withGracefulShutdownHandler {
            try await server.closeFuture.get()
        } onGracefulShutdown: { [self] in
            drain(server: server)
        }
        sampler.cancel()
        beats.cancel()
        await beats.value
        await leaveRegistry()
        installer.cancel()
        slotMap?.cancel()
        fanout.stop()
        await subscriber.close()
        await shards?.close()
        await cluster?.close()
        await redis.close()
        await redisConnector.close()
        try? await subscriberGroup.shutdownGracefully()
        logger.info("gateway stopped")
    }

    /// Reads the Cluster's slot map and starts its periodic refresh, retrying while no seed answers (until
    /// cancelled).
    private static func startSlotMap(_ cluster: RedisClusterClient, logger: Logger) async {
        var delay = Duration.milliseconds(100)
        while !Task.isCancelled {
            do {
                let map = try await cluster.start()
                logger.info("Redis Cluster slot map read", metadata: ["redis.shards": "\(map.shards.count)"])
                return
            } catch {
                logger.warning("cannot read the Redis Cluster slot map yet", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    private func bind() async throws -> any Channel {
        let configuration = self.configuration
        let maxUnsent = configuration.maxUnsentBytes
        let stats = self.stats
        let logger = self.logger
        let reserve = descriptorReserve
        let channel = try await ServerBootstrap(group: group)
            // Out of file descriptors, accept(2) fails at once for as long as a connection waits: without a pause
            // the listener's loop would retry at full speed and serve nothing else.
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        AcceptBackoffHandler(shouldForwardIOErrorCaught: false) { error in
                            if error.errnoCode == EMFILE || error.errnoCode == ENFILE { reserve.release() }
                            return Self.acceptFailed(error, stats: stats, logger: logger)
                        })
                }
            }
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Accept a burst of connections per wake-up of the listener (NIO's default is 4).
            .serverChannelOption(.maxMessagesPerRead, value: 64)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: maxUnsent / 2, high: maxUnsent))
            // A channel keeps its receive buffers for reuse for as long as it lives, and an open stream never reads
            // again: so the first buffer is small (a request head needs a read or two more; the buffer grows for
            // busy connections), and a stream keeps one (see `openStream`). NIO's default first buffer is 2 KB,
            // most of what an idle stream cost (docs/BENCHMARKS.md, S4).
            .childChannelOption(
                .recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 65536)
            )
            .childChannelOption(.maxMessagesPerRead, value: 4)
            .childChannelInitializer { [self] channel in
                if reserve.claimShed() {
                    stats.shedConnections.add(1, ordering: .relaxed)
                    reserve.shed(channel)
                    return channel.eventLoop.makeSucceededVoidFuture()
                }
                return channel.eventLoop.makeCompletedFuture {
                    let encoder = HTTPResponseEncoder()
                    let operations = channel.pipeline.syncOperations
                    try operations.addHandler(encoder)
                    let decoder = ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes))
                    try operations.addHandler(decoder)
                    try operations.addHandler(
                        GatewayHTTPHandler(gateway: self, responseEncoder: encoder, requestDecoder: decoder))
                }
            }
            .bind(host: configuration.host, port: configuration.port).get()
        boundPort.withLock { $0 = channel.localAddress?.port }
        return channel
    }

    /// The listener's pause after a failed accept (``AcceptBackoffHandler``): counted, and logged at most every 10 s.
    private static func acceptFailed(_ error: IOError, stats: GatewayStats, logger: Logger) -> TimeAmount {
        stats.acceptBackoffs.add(1, ordering: .relaxed)
        let now = Int(stats.uptimeSeconds * 1000)
        let last = stats.lastAcceptWarning.load(ordering: .relaxed)
        if now - last >= 10_000,
            stats.lastAcceptWarning.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged
        {
            let reason =
                error.errnoCode == EMFILE || error.errnoCode == ENFILE
                ? "out of file descriptors: raise the open-file limit or lower SSE_MAX_CONNECTIONS" : "\(error)"
            logger.warning(
                "cannot accept connections, pausing accepts for 100 ms",
                metadata: [
                    "error": "\(reason)", "sse.accept_backoffs": "\(stats.acceptBackoffs.load(ordering: .relaxed))",
                ])
        }
        return .milliseconds(100)
    }

    /// SIGTERM: not ready at once, new streams refused, open streams told to reconnect across the drain window,
    /// then the listener closes (which ends `run`). A hard stop follows the window by 4 s whatever happens.
    private func drain(server: any Channel) {
        stats.draining.store(true, ordering: .relaxed)
        beatNow()
        let window = configuration.drainWindow
        logger.info("draining", metadata: ["sse.drain_window": "\(window)"])
        fanout.drain(window: window, retryMilliseconds: configuration.retryMilliseconds).whenComplete { _ in
            server.close(promise: nil)
        }
        server.eventLoop.scheduleTask(in: TimeAmount(window) + .seconds(4)) {
            server.close(promise: nil)
        }
    }

    // MARK: Metrics

    func metricsJSON() -> String {
        let snapshot = MetricsSnapshot(stats: stats, nodeID: configuration.nodeID, ready: notReadyReason == nil)
        return MetricsSnapshot.encode(snapshot) + "\n"
    }

    func prometheusText() -> String {
        metrics.sync()
        return (renderPrometheus?() ?? "") + stats.deliveryLatency.prometheusText(nodeID: configuration.nodeID)
    }
}
