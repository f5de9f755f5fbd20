import Logging
import NIOCore

/// The channel handler under a ``RedisConnection``: encodes commands, decodes replies with hiredis, and hands each
/// reply to whoever waits for it, in order.
///
/// Loop-confined: every method runs on the channel's event loop. Commands queued during one loop tick are written
/// with one flush, so many tasks sending at once pipeline naturally.
///
/// Its hot stored properties are `@exclusivity(unchecked)`: they are only touched on its event loop, one access at
/// a time, so the dynamic exclusivity checks guard nothing and cost a few percent of the loop on the hot path.
final class RedisChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Who waits for the next reply(ies).
    enum Pending {
        case single(EventLoopPromise<RedisReply>)
        case batch(Batch)
    }

    /// Replies collected for a pipelined batch; a class so appending does not copy the array.
    final class Batch {
        let expected: Int
        @exclusivity(unchecked) var replies: [RedisReply]
        let promise: EventLoopPromise<[RedisReply]>

        init(expected: Int, promise: EventLoopPromise<[RedisReply]>) {
            self.expected = expected
            self.promise = promise
            self.replies = []
            replies.reserveCapacity(expected)
        }
    }

    private let address: String
    private let decoder = RedisReplyDecoder()
    @exclusivity(unchecked) private var pending = CircularBuffer<Pending>(initialCapacity: 64)
    @exclusivity(unchecked) private var outbound: ByteBuffer
    @exclusivity(unchecked) private var flushScheduled = false
    @exclusivity(unchecked) private var context: ChannelHandlerContext?
    @exclusivity(unchecked) private var closed = false
    private var closeReason: RedisError?
    private let logger: Logger
    /// Set on subscriber connections: receives pub/sub pushes (`message`, `subscribe`, `pong`, …).
    private let onPush: ((RedisReply) -> Void)?
    /// Set on connections to a Sentinel group's master: a `READONLY` error reply means the server was demoted, so
    /// once the command (or pipeline) it answered is complete the connection closes, and its owner reconnects
    /// through discovery instead of sending more writes to a replica.
    var closesOnReadOnly = false

    init(address: String, logger: Logger, onPush: ((RedisReply) -> Void)?) {
        self.address = address
        self.logger = logger
        self.onPush = onPush
        self.outbound = ByteBufferAllocator().buffer(capacity: 0)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        outbound = context.channel.allocator.buffer(capacity: 4096)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        failAll(closeReason ?? .connectionClosed(address: address))
    }

    // MARK: Outbound

    /// Queues one command; `reply` is nil when no reply is matched to it (pub/sub commands whose answers are pushes).
    func enqueue(_ command: RedisCommand, reply: Pending?) {
        guard !closed, context != nil else {
            reply?.fail(closeReason ?? .connectionClosed(address: address))
            return
        }
        command.encode(into: &outbound)
        if let reply { pending.append(reply) }
        scheduleFlush()
    }

    /// Queues several commands whose replies go to one batch promise.
    func enqueue(_ commands: [RedisCommand], promise: EventLoopPromise<[RedisReply]>) {
        guard !commands.isEmpty else {
            promise.succeed([])
            return
        }
        guard !closed, context != nil else {
            promise.fail(closeReason ?? .connectionClosed(address: address))
            return
        }
        for command in commands { command.encode(into: &outbound) }
        pending.append(.batch(Batch(expected: commands.count, promise: promise)))
        scheduleFlush()
    }

    private func scheduleFlush() {
        guard !flushScheduled, let context else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute { [self] in
            flushScheduled = false
            flushNow()
        }
    }

    private func flushNow() {
        guard let context, outbound.readableBytes > 0 else { return }
        // Cleared after the write: when the socket took every byte at once, NIO has already let go of the buffer,
        // so clearing keeps its storage for the next batch instead of allocating a new one (copy on write).
        context.writeAndFlush(wrapOutboundOut(outbound), promise: nil)
        outbound.clear()
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        do {
            try decoder.feed(bytes)
            while let reply = try decoder.next() {
                deliver(reply, context: context)
            }
        } catch {
            logger.error(
                "closing Redis connection: undecodable reply",
                metadata: ["redis.address": "\(address)", "error": "\(error)"])
            close(context: context, reason: error)
        }
    }

    private func deliver(_ reply: RedisReply, context: ChannelHandlerContext) {
        // On a subscriber connection a `+PONG` that nobody waits for answers the health PING sent while no channel
        // is subscribed (Redis only answers with a `pong` push in subscribed mode); the handshake's own PING does
        // wait for it.
        // An error nobody waits for answers a subscription command: `SSUBSCRIBE` to a node that does not serve the
        // slot (`MOVED`) or a cluster that is down; the subscriber decides what it means.
        if let onPush, Self.isPush(reply) || (pending.isEmpty && (reply == .status("PONG") || reply.isError)) {
            onPush(reply)
            return
        }
        guard let head = pending.first else {
            logger.error(
                "closing Redis connection: reply without a request",
                metadata: ["redis.address": "\(address)", "redis.reply": "\(reply)"])
            close(context: context, reason: .protocolViolation("reply without a request: \(reply)"))
            return
        }
        switch head {
        case .single(let promise):
            pending.removeFirst()
            promise.succeed(reply)
            if closesOnReadOnly, Self.isReadOnly(reply) { closeAsDemoted(context: context) }
        case .batch(let batch):
            batch.replies.append(reply)
            if batch.replies.count == batch.expected {
                pending.removeFirst()
                batch.promise.succeed(batch.replies)
                if closesOnReadOnly, batch.replies.contains(where: Self.isReadOnly) { closeAsDemoted(context: context) }
            }
        }
    }

    private static func isReadOnly(_ reply: RedisReply) -> Bool {
        if case .error(let message) = reply { return message.hasPrefix("READONLY") }
        return false
    }

    private func closeAsDemoted(context: ChannelHandlerContext) {
        guard !closed else { return }
        logger.warning(
            "Redis answered READONLY: the master was demoted; closing to reconnect through the sentinels",
            metadata: ["redis.address": "\(address)"])
        close(context: context, reason: .connectionClosed(address: address))
    }

    /// Pub/sub pushes under RESP2 are arrays whose first element names the kind.
    static func isPush(_ reply: RedisReply) -> Bool {
        guard case .array(let elements) = reply, let first = elements.first, case .bulk(let kind) = first else {
            return false
        }
        switch kind.readableBytes {
        case 4: return kind.readableBytesView.elementsEqual("pong".utf8)
        case 7: return kind.readableBytesView.elementsEqual("message".utf8)
        case 8:
            return kind.readableBytesView.elementsEqual("pmessage".utf8)
                || kind.readableBytesView.elementsEqual("smessage".utf8)
        case 9: return kind.readableBytesView.elementsEqual("subscribe".utf8)
        case 10:
            return kind.readableBytesView.elementsEqual("psubscribe".utf8)
                || kind.readableBytesView.elementsEqual("ssubscribe".utf8)
        case 11: return kind.readableBytesView.elementsEqual("unsubscribe".utf8)
        case 12:
            return kind.readableBytesView.elementsEqual("punsubscribe".utf8)
                || kind.readableBytesView.elementsEqual("sunsubscribe".utf8)
        default: return false
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        failAll(closeReason ?? .connectionClosed(address: address))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("Redis connection error", metadata: ["redis.address": "\(address)", "error": "\(error)"])
        close(context: context, reason: .connectionClosed(address: address))
    }

    /// Closes the connection, failing every waiting command with `reason`.
    func close(reason: RedisError) {
        guard let context else { return }
        close(context: context, reason: reason)
    }

    private func close(context: ChannelHandlerContext, reason: RedisError) {
        if closeReason == nil { closeReason = reason }
        closed = true
        failAll(reason)
        context.close(promise: nil)
    }

    private func failAll(_ error: RedisError) {
        while let head = pending.popFirst() {
            head.fail(error)
        }
    }

}

extension RedisReply {
    fileprivate var isError: Bool {
        if case .error = self { return true }
        return false
    }
}

extension RedisChannelHandler.Pending {
    func fail(_ error: RedisError) {
        switch self {
        case .single(let promise): promise.fail(error)
        case .batch(let batch): batch.promise.fail(error)
        }
    }
}
