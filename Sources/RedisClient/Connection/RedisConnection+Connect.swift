import Logging
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension RedisConnection {
    /// Connects, authenticates, selects the database and checks the server answers PING, all within
    /// `configuration.connectTimeout`.
    ///
    /// - Parameter onPush: for subscriber connections: receives pub/sub pushes on the connection's event loop.
    public static func connect(
        configuration: RedisConfiguration,
        eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.any(),
        logger: Logger = Logger(label: "redis"),
        onPush: (@Sendable (RedisReply) -> Void)? = nil
    ) async throws -> RedisConnection {
        try await connectFuture(configuration: configuration, eventLoop: eventLoop, logger: logger, onPush: onPush)
            .get()
    }

    /// The future form of ``connect(configuration:eventLoop:logger:onPush:)``; fails only with ``RedisError``.
    public static func connectFuture(
        configuration: RedisConfiguration,
        eventLoop: any EventLoop,
        logger: Logger = Logger(label: "redis"),
        onPush: (@Sendable (RedisReply) -> Void)? = nil
    ) -> EventLoopFuture<RedisConnection> {
        let address = configuration.address
        let timeoutMilliseconds = configuration.connectTimeout.milliseconds
        let deadline = NIODeadline.now() + .milliseconds(timeoutMilliseconds)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(.milliseconds(timeoutMilliseconds))
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = RedisChannelHandler(address: address, logger: logger, onPush: onPush)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        let connected: EventLoopFuture<any Channel>
        switch configuration.endpoint {
        case .tcp(let host, let port):
            connected = bootstrap.channelOption(.socketOption(.tcp_nodelay), value: 1).connect(host: host, port: port)
        case .unix(let path):
            connected = bootstrap.connect(unixDomainSocketPath: path)
        }
        return connected.flatMapErrorThrowing { error in
            throw mapConnectError(error, address: address, timeoutMilliseconds: timeoutMilliseconds)
        }.flatMap { channel in
            channel.pipeline.handler(type: RedisChannelHandler.self).map { handler in
                RedisConnection(
                    configuration: configuration, channel: channel, handler: NIOLoopBound(handler, eventLoop: eventLoop)
                )
            }
        }.flatMap { connection in
            handshake(connection, deadline: deadline, timeoutMilliseconds: timeoutMilliseconds)
        }
    }

    /// AUTH, SELECT and PING pipelined in one write; a timer closes the connection if they do not finish in time.
    private static func handshake(
        _ connection: RedisConnection, deadline: NIODeadline, timeoutMilliseconds: Int64
    ) -> EventLoopFuture<RedisConnection> {
        let configuration = connection.configuration
        let address = configuration.address
        var commands: [RedisCommand] = []
        if let password = configuration.password {
            if let username = configuration.username {
                commands.append(RedisCommand("AUTH", username, password))
            } else {
                commands.append(RedisCommand("AUTH", password))
            }
        }
        if configuration.database != 0 {
            commands.append(RedisCommand("SELECT", configuration.database))
        }
        commands.append(RedisCommand("PING"))
        let timedOut = Atomic<Bool>(false)
        let timer = connection.eventLoop.scheduleTask(deadline: deadline) {
            timedOut.store(true, ordering: .relaxed)
            connection.close(reason: .connectTimeout(address: address, milliseconds: timeoutMilliseconds))
        }
        return connection.pipelineFuture(commands).flatMapThrowing { replies in
            timer.cancel()
            var index = 0
            if configuration.password != nil {
                if case .error(let message) = replies[index] {
                    throw RedisError.authenticationFailed(address: address, message: message)
                }
                index += 1
            }
            if configuration.database != 0 {
                if case .error(let message) = replies[index] {
                    if message.hasPrefix("NOAUTH") {
                        throw RedisError.authenticationFailed(address: address, message: message)
                    }
                    throw RedisError.selectFailed(address: address, database: configuration.database, message: message)
                }
                index += 1
            }
            if case .error(let message) = replies[index] {
                if message.hasPrefix("NOAUTH") || message.hasPrefix("WRONGPASS") {
                    throw RedisError.authenticationFailed(address: address, message: message)
                }
                throw RedisError.server(message: message)
            }
            return connection
        }.flatMapError { error in
            timer.cancel()
            connection.closeNow()
            if timedOut.load(ordering: .relaxed) {
                return connection.eventLoop.makeFailedFuture(
                    RedisError.connectTimeout(address: address, milliseconds: timeoutMilliseconds))
            }
            return connection.eventLoop.makeFailedFuture(error)
        }
    }

    static func mapConnectError(_ error: any Error, address: String, timeoutMilliseconds: Int64) -> RedisError {
        if let error = error as? RedisError { return error }
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first?.error {
                return mapConnectError(first, address: address, timeoutMilliseconds: timeoutMilliseconds)
            }
            if let dnsError = error.dnsAAAAError ?? error.dnsAError {
                return .connectFailed(address: address, cause: "cannot resolve host (\(dnsError))")
            }
            return .connectFailed(address: address, cause: "no address to connect to")
        }
        if let error = error as? ChannelError, case .connectTimeout = error {
            return .connectTimeout(address: address, milliseconds: timeoutMilliseconds)
        }
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNREFUSED: return .connectionRefused(address: address)
            case ENOENT: return .connectFailed(address: address, cause: "no such socket file")
            case ETIMEDOUT: return .connectTimeout(address: address, milliseconds: timeoutMilliseconds)
            case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                return .outOfLocalResources(address: address, cause: String(cString: strerror(error.errnoCode)))
            default: return .connectFailed(address: address, cause: String(cString: strerror(error.errnoCode)))
            }
        }
        return .connectFailed(address: address, cause: "\(error)")
    }
}

extension Duration {
    /// Whole milliseconds, rounded down, at least 1.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }
}
