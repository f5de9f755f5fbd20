import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Finds a Sentinel group's master, connects to it, and keeps track of the connections it opened there.
///
/// Each connect asks the sentinels in turn (the one that answered last time first), connects to the address named,
/// and checks with `ROLE` that the server is a master: right after a failover a sentinel can still name the old one,
/// and a demoted master must never take writes. A server that is not (or not yet) a master is closed and the
/// sentinels are asked again after a short, growing pause. The first connect starts a ``SentinelWatch`` that closes
/// the connections on a replaced master as soon as a sentinel announces `+switch-master`.
final class SentinelLocator: Sendable {
    private struct State {
        /// Index of the sentinel that answered last; asked first next time.
        var preferred = 0
        var master: RedisHostPort?
        /// Open connections to (what was) the master, so a switch can close them.
        var connections: [ObjectIdentifier: RedisConnection] = [:]
        var watch: SentinelWatch?
        /// Counts the switches announced; a connect that began before one may have asked a sentinel too early.
        var switches = 0
        var closed = false
    }

    let configuration: SentinelConfiguration
    private let logger: Logger
    private let state = Mutex(State())
    /// Pauses between connect rounds that found no usable master: 100, 200 and 400 ms.
    static let retryDelays: [Duration] = [.milliseconds(100), .milliseconds(200), .milliseconds(400)]

    init(configuration: SentinelConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    deinit {
        let watch = state.withLock { $0.watch }
        if let watch { Task { await watch.close() } }
    }

    var currentMaster: RedisHostPort? { state.withLock { $0.master } }

    /// Asks each sentinel in turn for the master's address; throws naming every sentinel tried and what it said.
    func askSentinels(logger: Logger) async throws -> RedisHostPort {
        let sentinels = configuration.sentinels
        let start = state.withLock { $0.preferred }
        var failures: [String] = []
        for offset in 0..<sentinels.count {
            let index = (start + offset) % sentinels.count
            let sentinel = sentinels[index]
            do {
                let sentinelConfiguration = configuration.sentinel(sentinel)
                let connection = try await RedisConnection.connect(configuration: sentinelConfiguration, logger: logger)
                defer { connection.closeNow() }
                let reply = try await connection.withDeadline(
                    sentinelConfiguration.connectTimeout, doing: "SENTINEL get-master-addr-by-name"
                ) { try await $0.send("SENTINEL", "get-master-addr-by-name", configuration.masterName) }
                guard let parts = reply.array, parts.count == 2, let host = parts[0].string,
                    let port = parts[1].string.flatMap({ Int($0) })
                else {
                    failures.append("\(sentinel): does not monitor it")
                    continue
                }
                state.withLock { $0.preferred = index }
                return RedisHostPort(host: host, port: port)
            } catch {
                failures.append("\(sentinel): \(error)")
            }
        }
        throw RedisError.sentinelFailed(
            masterName: configuration.masterName, reason: "no sentinel named it (\(failures.joined(separator: "; ")))")
    }

    /// Finds the master and connects to it (handshake as for one server, then the `ROLE` check).
    func connectToMaster(
        eventLoop: any EventLoop, logger: Logger, onPush: (@Sendable (RedisReply) -> Void)?
    ) async throws -> RedisConnection {
        var failures: [String] = []
        for round in 0...Self.retryDelays.count {
            if round > 0 { try await Task.sleep(for: Self.retryDelays[round - 1]) }
            let switches = state.withLock { $0.switches }
            let master = try await askSentinels(logger: logger)
            let server = configuration.server(master)
            let connection: RedisConnection
            do {
                connection = try await RedisConnection.connect(
                    configuration: server, eventLoop: eventLoop, logger: logger, onPush: onPush)
            } catch {
                failures.append("\(error)")
                continue
            }
            let role: String
            do {
                let reply = try await connection.withDeadline(server.connectTimeout, doing: "ROLE") {
                    try await $0.send("ROLE")
                }
                role = reply.array?.first?.string ?? "\(reply)"
            } catch {
                connection.closeNow()
                failures.append("\(error)")
                continue
            }
            guard role == "master" else {
                connection.closeNow()
                failures.append("\(master) named as master has the role \(role)")
                continue
            }
            connection.closeOnReadOnlyReplies()
            guard register(connection, at: master, ifNoSwitchSince: switches) else {
                connection.closeNow()
                failures.append("the master switched while connecting to \(master)")
                continue
            }
            return connection
        }
        throw RedisError.sentinelFailed(
            masterName: configuration.masterName,
            reason: "tried sentinels \(configuration.sentinels.map(\.description).joined(separator: ",")), "
                + "no usable master (\(failures.joined(separator: "; ")))")
    }

    /// Records a connection to the master; false (and nothing recorded) when a switch was announced since the
    /// sentinels were asked, as the address may be the old master's.
    private func register(_ connection: RedisConnection, at master: RedisHostPort, ifNoSwitchSince switches: Int)
        -> Bool
    {
        let id = ObjectIdentifier(connection)
        let (registered, watch) = state.withLock { state -> (Bool, SentinelWatch?) in
            guard state.switches == switches else { return (false, nil) }
            state.master = master
            state.connections[id] = connection
            guard state.watch == nil, !state.closed else { return (true, nil) }
            let watch = SentinelWatch(configuration: configuration, logger: logger) { [weak self] address, sentinel in
                // The announcing sentinel knows the switch; others may name the old master for a while.
                self?.state.withLock { $0.preferred = sentinel }
                self?.masterIs(address, because: "+switch-master")
            } onReconnect: { [weak self] in
                self?.recheck()
            }
            state.watch = watch
            return (true, watch)
        }
        guard registered else { return false }
        watch?.start()
        connection.closeFuture.whenComplete { [weak self] _ in
            _ = self?.state.withLock { $0.connections.removeValue(forKey: id) }
        }
        return true
    }

    /// The master is now `address`: connections to any other server are closed, so they reconnect to it.
    func masterIs(_ address: RedisHostPort, because reason: String) {
        let endpoint = RedisConfiguration.Endpoint.tcp(host: address.host, port: address.port)
        let stale = state.withLock { state -> [RedisConnection] in
            if state.master != address { state.switches += 1 }
            state.master = address
            return state.connections.values.filter { $0.configuration.endpoint != endpoint }
        }
        guard !stale.isEmpty else { return }
        logger.warning(
            "Redis master moved; closing the connections to the old one",
            metadata: [
                "redis.master": "\(configuration.masterName)", "redis.address": "\(address)", "reason": "\(reason)",
                "redis.closed": "\(stale.count)",
            ])
        for connection in stale { connection.closeNow() }
    }

    /// After the watch lost its sentinel, a switch may have gone unannounced: ask again.
    private func recheck() {
        Task { [self] in
            if let master = try? await askSentinels(logger: logger) { masterIs(master, because: "recheck") }
        }
    }

    func close() async {
        let watch = state.withLock { state -> SentinelWatch? in
            state.closed = true
            defer { state.watch = nil }
            return state.watch
        }
        await watch?.close()
    }
}
