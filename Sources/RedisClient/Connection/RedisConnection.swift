import Logging
import NIOCore
import NIOPosix
import Synchronization

/// One connection to Redis. Commands may be sent from any task or thread at once: they are written in call order,
/// pipelined (commands sent during one event-loop tick share a flush), and each caller gets its own reply.
///
/// A connection does not reconnect; ``RedisClient`` and ``RedisSubscriber`` build reconnecting behaviour on top.
public final class RedisConnection: Sendable {
    public let configuration: RedisConfiguration
    let channel: any Channel
    let handler: NIOLoopBound<RedisChannelHandler>

    public var eventLoop: any EventLoop { channel.eventLoop }
    /// Completes when the connection has closed, for whatever reason.
    public var closeFuture: EventLoopFuture<Void> { channel.closeFuture }
    public var isActive: Bool { channel.isActive }

    init(configuration: RedisConfiguration, channel: any Channel, handler: NIOLoopBound<RedisChannelHandler>) {
        self.configuration = configuration
        self.channel = channel
        self.handler = handler
    }

    /// Sends one command. Error replies are returned as ``RedisReply/error(_:)``, not thrown.
    public func sendFuture(_ command: RedisCommand) -> EventLoopFuture<RedisReply> {
        let promise = eventLoop.makePromise(of: RedisReply.self)
        onLoop { $0.enqueue(command, reply: .single(promise)) }
        return promise.futureResult
    }

    /// Sends commands back to back in one write; the replies come back in the same order, error replies inline.
    public func pipelineFuture(_ commands: [RedisCommand]) -> EventLoopFuture<[RedisReply]> {
        let promise = eventLoop.makePromise(of: [RedisReply].self)
        onLoop { $0.enqueue(commands, promise: promise) }
        return promise.futureResult
    }

    /// Sends one command and waits for its reply; an error reply is thrown as ``RedisError/server(message:)``.
    @discardableResult
    public func send(_ command: RedisCommand) async throws -> RedisReply {
        try await Self.redisResult(sendFuture(command)).throwingServerError()
    }

    /// Sends one command built from a name and arguments.
    @discardableResult
    public func send<each Argument: RedisArgument>(_ name: String, _ arguments: repeat each Argument) async throws
        -> RedisReply
    {
        try await send(RedisCommand(name, repeat each arguments))
    }

    /// Sends commands back to back in one write; replies in order, error replies inline (not thrown).
    public func pipeline(_ commands: [RedisCommand]) async throws -> [RedisReply] {
        try await Self.redisResult(pipelineFuture(commands))
    }

    /// Writes a command whose answers arrive as pub/sub pushes (SUBSCRIBE, PING in subscribed mode, …).
    func sendWithoutReply(_ command: RedisCommand) {
        onLoop { $0.enqueue(command, reply: nil) }
    }

    /// Closes the connection; waiting commands fail with ``RedisError/connectionClosed(address:)``.
    public func close() async {
        closeNow()
        try? await channel.closeFuture.get()
    }

    /// Starts closing without waiting.
    public func closeNow() {
        let reason = RedisError.connectionClosed(address: configuration.address)
        onLoop { $0.close(reason: reason) }
    }

    /// Closes with a specific reason that waiting commands fail with.
    func close(reason: RedisError) {
        onLoop { $0.close(reason: reason) }
    }

    /// Makes a `READONLY` error reply close the connection (see ``RedisChannelHandler/closesOnReadOnly``).
    func closeOnReadOnlyReplies() {
        onLoop { $0.closesOnReadOnly = true }
    }

    private func onLoop(_ body: @escaping @Sendable (RedisChannelHandler) -> Void) {
        if eventLoop.inEventLoop {
            body(handler.value)
        } else {
            let handler = self.handler
            eventLoop.execute { body(handler.value) }
        }
    }

    static func redisResult<Value: Sendable>(_ future: EventLoopFuture<Value>) async throws -> Value {
        do {
            return try await future.get()
        } catch let error as RedisError {
            throw error
        } catch {
            throw RedisError.protocolViolation("\(error)")
        }
    }
}
