import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Something that runs Redis commands: a single ``RedisConnection`` or a reconnecting ``RedisClient``.
public protocol RedisCommandRunner: Sendable {
    /// Sends one command; an error reply is thrown as ``RedisError/server(message:)``.
    @discardableResult
    func send(_ command: RedisCommand) async throws -> RedisReply
    /// Sends commands in one write; replies in order, error replies inline.
    func pipeline(_ commands: [RedisCommand]) async throws -> [RedisReply]
}

extension RedisConnection: RedisCommandRunner {}

/// A command client that keeps one connection and opens a new one when it has dropped.
///
/// A command in flight when the connection drops fails with ``RedisError/connectionClosed(address:)`` (it may have
/// run); the next command connects again. Safe to use from many tasks at once: they share the pipelined connection.
public final class RedisClient: RedisCommandRunner {
    private enum State {
        case idle
        case connecting(EventLoopFuture<RedisConnection>)
        case connected(RedisConnection)
        case closed
    }

    /// Where connections go: one server, or the master of a Sentinel group (found again on every reconnect).
    public let connector: RedisConnector
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let state = Mutex<State>(.idle)

    public convenience init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "redis.client")
    ) {
        self.init(
            connector: RedisConnector(configuration: configuration), eventLoopGroup: eventLoopGroup, logger: logger)
    }

    public init(
        connector: RedisConnector,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "redis.client")
    ) {
        self.connector = connector
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// The current connection, or a new one when there is none or it has closed.
    public func connection() async throws -> RedisConnection {
        try await connectionFuture().get()
    }

    func connectionFuture() -> EventLoopFuture<RedisConnection> {
        state.withLock { state in
            switch state {
            case .connected(let connection) where connection.isActive:
                return connection.eventLoop.makeSucceededFuture(connection)
            case .connecting(let future):
                return future
            case .closed:
                return eventLoopGroup.any().makeFailedFuture(
                    RedisError.connectionClosed(address: connector.address))
            case .idle, .connected:
                let future = connector.connectFuture(eventLoop: eventLoopGroup.any(), logger: logger)
                state = .connecting(future)
                future.whenComplete { [self] result in
                    self.state.withLock { state in
                        guard case .connecting = state else {
                            if case .success(let connection) = result { connection.closeNow() }
                            return
                        }
                        switch result {
                        case .success(let connection): state = .connected(connection)
                        case .failure: state = .idle
                        }
                    }
                }
                return future
            }
        }
    }

    /// The connection commands go out on now, or nil while none is open (a closed one is replaced by the next
    /// command; this never connects).
    public var openConnection: RedisConnection? {
        state.withLock { state in
            guard case .connected(let connection) = state, connection.isActive else { return nil }
            return connection
        }
    }

    @discardableResult
    public func send(_ command: RedisCommand) async throws -> RedisReply {
        try await connection().send(command)
    }

    @discardableResult
    public func send<each Argument: RedisArgument>(_ name: String, _ arguments: repeat each Argument) async throws
        -> RedisReply
    {
        try await send(RedisCommand(name, repeat each arguments))
    }

    public func pipeline(_ commands: [RedisCommand]) async throws -> [RedisReply] {
        try await connection().pipeline(commands)
    }

    /// Closes the connection; later commands fail.
    public func close() async {
        let previous = state.withLock { state -> State in
            let previous = state
            state = .closed
            return previous
        }
        switch previous {
        case .connected(let connection): await connection.close()
        case .connecting(let future): try? await future.get().close()
        case .idle, .closed: break
        }
    }
}
