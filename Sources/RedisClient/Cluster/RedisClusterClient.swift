import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Runs commands on a Redis Cluster: each command goes to the primary serving its key's slot, over one pipelined
/// ``RedisClient`` per primary, following `MOVED` (the map is corrected at once and read again soon) and `ASK`
/// (`ASKING` plus the command on the target, once) up to ``Options/maximumRedirects`` times, and retrying
/// `CLUSTERDOWN`, `TRYAGAIN`, `LOADING` and unreachable primaries with a short pause until ``Options/retryDeadline``.
///
/// The caller names the routing key: a topic's keys all carry its hash tag, so the key of any of them (or the tag
/// itself) routes every command about the topic. The slot map is read from the seeds (then from any node it
/// names) at ``start()``, every ``Options/refreshInterval``, and on demand; concurrent reads are coalesced.
public final class RedisClusterClient: Sendable {
    public struct Options: Sendable {
        /// How often the slot map is read again while nothing asks for it. Default 10 s.
        public var refreshInterval: Duration = .seconds(10)
        /// Redirects one command may follow before it fails with ``RedisClusterError/tooManyRedirects(command:count:last:)``.
        public var maximumRedirects = 5
        /// How long `CLUSTERDOWN`, `TRYAGAIN`, `LOADING` and refused connects are retried for one command.
        public var retryDeadline: Duration = .seconds(5)
        /// The pause between those retries.
        public var retryDelay: Duration = .milliseconds(50)
        /// Limit for one node's answer to the slot map request (a frozen node must not stall the refresh).
        public var slotMapTimeout: Duration = .seconds(2)

        public init() {}
    }

    private struct State {
        var map: ClusterSlotMap?
        var clients: [RedisConfiguration.Endpoint: RedisClient] = [:]
        var refresh: Task<ClusterSlotMap, any Error>?
        var periodic: Task<Void, Never>?
        var closed = false
    }

    public let seeds: [RedisConfiguration.Endpoint]
    /// Credentials and timeouts for every node; its endpoint is replaced by each node's.
    public let template: RedisConfiguration
    public let options: Options
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    private let state = Mutex(State())
    /// Completed slot map reads, for tests and metrics.
    private let reads = Atomic<Int>(0)
    let movedCount = Atomic<Int>(0)
    let askCount = Atomic<Int>(0)

    public init(
        seeds: [RedisConfiguration.Endpoint], configuration template: RedisConfiguration, options: Options = Options(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "redis.cluster")
    ) {
        precondition(!seeds.isEmpty, "a Redis Cluster client needs at least one seed")
        self.seeds = seeds
        self.template = template
        self.options = options
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// Reads the slot map and starts the periodic refresh.
    @discardableResult
    public func start() async throws -> ClusterSlotMap {
        let map = try await refreshSlotMap()
        let interval = options.refreshInterval
        let periodic = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard let self, !Task.isCancelled else { return }
                _ = try? await self.refreshSlotMap()
            }
        }
        let replaced = state.withLock { state in
            defer { state.periodic = periodic }
            return state.periodic
        }
        replaced?.cancel()
        return map
    }

    /// The current slot map, read first if there is none.
    public func slotMap() async throws -> ClusterSlotMap {
        if let map = state.withLock({ $0.map }) { return map }
        return try await refreshSlotMap()
    }

    /// How many slot map reads have completed.
    public var slotMapReads: Int { reads.load(ordering: .relaxed) }
    /// How many `MOVED` and `ASK` redirects commands have followed, for tests and metrics.
    public var redirectsFollowed: (moved: Int, ask: Int) {
        (movedCount.load(ordering: .relaxed), askCount.load(ordering: .relaxed))
    }

    /// Reads the slot map now; a caller arriving while a read runs shares its result.
    @discardableResult
    public func refreshSlotMap() async throws -> ClusterSlotMap {
        let task = state.withLock { state -> Task<ClusterSlotMap, any Error> in
            if let running = state.refresh { return running }
            let task = Task { try await self.readSlotMap() }
            state.refresh = task
            return task
        }
        let result = await task.result
        state.withLock { state in
            if state.refresh == task { state.refresh = nil }
            if case .success(let map) = result { state.map = map }
        }
        return try result.get()
    }

    /// Starts a refresh without waiting for it (after a redirect or a lost node).
    func scheduleRefresh() {
        Task { _ = try? await self.refreshSlotMap() }
    }

    /// Tries the known nodes (primaries first), then the seeds, until one answers with a map; a map that covers every
    /// slot wins over one that does not (a node that has just restarted may know fewer slots).
    private func readSlotMap() async throws -> ClusterSlotMap {
        var candidates: [RedisConfiguration.Endpoint] = []
        for endpoint in (state.withLock { $0.map?.allEndpoints } ?? []) + seeds where !candidates.contains(endpoint) {
            candidates.append(endpoint)
        }
        var attempts: [String] = []
        var partial: ClusterSlotMap?
        for endpoint in candidates {
            do {
                let map = try await readSlotMap(from: endpoint)
                reads.add(1, ordering: .relaxed)
                if map.coversEverySlot { return map }
                if partial == nil { partial = map }
                attempts.append("\(Self.address(endpoint)): covers only part of the slots")
            } catch {
                attempts.append("\(Self.address(endpoint)): \(error)")
            }
        }
        if let partial { return partial }
        throw RedisClusterError.noNodeReachable(attempts: attempts)
    }

    private func readSlotMap(from endpoint: RedisConfiguration.Endpoint) async throws -> ClusterSlotMap {
        let connection = try await client(for: endpoint).connection()
        return try await connection.withDeadline(options.slotMapTimeout, doing: "CLUSTER SHARDS") { connection in
            let reply = try await connection.pipeline([RedisCommand("CLUSTER", "SHARDS")])[0]
            if case .error(let message) = reply {
                guard message.isUnknownSubcommand else { throw RedisError.server(message: message) }
                return try ClusterSlotMap(clusterSlots: try await connection.send("CLUSTER", "SLOTS"))
            }
            return try ClusterSlotMap(clusterShards: reply)
        }
    }

    /// The command client of one node (created on first use, kept until ``close()``).
    public func client(for endpoint: RedisConfiguration.Endpoint) throws -> RedisClient {
        try state.withLock { state in
            guard !state.closed else { throw RedisError.connectionClosed(address: Self.address(endpoint)) }
            if let client = state.clients[endpoint] { return client }
            var configuration = template
            configuration.endpoint = endpoint
            let client = RedisClient(configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
            state.clients[endpoint] = client
            return client
        }
    }

    /// The open connection to the primary that serves `key`'s slot in the current map, or nil when there is no map
    /// or no open connection to it (``RedisClient/openConnection``). Never connects.
    public func openConnection(forKey key: String) -> RedisConnection? {
        let client = state.withLock { state -> RedisClient? in
            guard let endpoint = state.map?.primary(for: HashSlot(key: key)) else { return nil }
            return state.clients[endpoint]
        }
        return client?.openConnection
    }

    /// The address of the primary that serves `key`'s slot in the current map (nil without a map). Never connects.
    public func primaryAddress(forKey key: String) -> String? {
        state.withLock { state in state.map?.primary(for: HashSlot(key: key)).map(Self.address) }
    }

    /// Corrects the map after a `MOVED`.
    func recordMoved(_ redirect: ClusterRedirect) {
        state.withLock { state in state.map?.assign(redirect.slot, to: redirect.endpoint) }
    }

    /// Closes every node connection and stops the periodic refresh; later commands fail.
    public func close() async {
        let (clients, periodic) = state.withLock { state in
            state.closed = true
            defer { state.clients = [:] }
            return (Array(state.clients.values), state.periodic)
        }
        periodic?.cancel()
        for client in clients { await client.close() }
    }

    static func address(_ endpoint: RedisConfiguration.Endpoint) -> String {
        RedisConfiguration(endpoint: endpoint).address
    }
}

extension String {
    /// The error of a server that has no `CLUSTER SHARDS` (before Redis 7).
    fileprivate var isUnknownSubcommand: Bool {
        hasPrefix("ERR unknown subcommand") || hasPrefix("ERR Unknown subcommand")
    }
}
