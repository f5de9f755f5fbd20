import NIOCore
import SSEProtocol

/// One benchmark stream: sends the `GET`, waits for the response head, then scans events into its loop's
/// ``DeliveryTally``.
///
/// `opened` completes when the head arrives (success only for status 200) or the stream fails first; a stream that
/// ends after it opened, while the run is still going, counts as dropped. The receive time is read once per socket
/// read, so all events of one read share it.
final class StreamClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let request: ByteBuffer
    private let tally: DeliveryTally
    private let headTimeout: TimeAmount
    private var opened: EventLoopPromise<Void>?
    private var timeout: Scheduled<Void>?
    private var framer = HTTPResponseFramer()
    private var scanner = EventScanner()
    /// Highest payload sequence received on this stream in lane 0 (0 before the first).
    private var lastSequence: UInt64 = 0
    /// The same for lanes 1…, allocated only when a publisher uses several connections.
    private var laneSequences: [UInt64] = []
    private var isOpen = false

    init(request: ByteBuffer, tally: DeliveryTally, headTimeout: TimeAmount, opened: EventLoopPromise<Void>) {
        self.request = request
        self.tally = tally
        self.headTimeout = headTimeout
        self.opened = opened
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(request), promise: nil)
        let channel = context.channel
        let promise = opened
        let limit = headTimeout
        timeout = context.eventLoop.scheduleTask(in: limit) {
            promise?.fail(LoadError("no response head within \(limit.nanoseconds / 1_000_000_000) s"))
            channel.close(promise: nil)
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let now = Clock.wallNanoseconds()
        tally.counts.bytes &+= UInt64(buffer.readableBytes)
        do {
            try buffer.withUnsafeReadableBytes { bytes in
                try framer.feed(
                    bytes,
                    onHead: { status in try headReceived(status: status) },
                    onBody: { body in
                        scanner.scan(
                            body,
                            onEvent: { fields in record(fields, receivedAt: now) },
                            onComment: { tally.counts.comments &+= 1 })
                    })
            }
        } catch {
            fail(error, context: context)
        }
    }

    @inline(__always)
    private func record(_ fields: Payload.Fields?, receivedAt now: UInt64) {
        guard let lane = fields?.lane, lane > 0 else {
            return tally.counts.record(fields, receivedAt: now, last: &lastSequence)
        }
        if laneSequences.isEmpty { laneSequences = Array(repeating: 0, count: Payload.maximumLanes) }
        tally.counts.record(fields, receivedAt: now, last: &laneSequences[lane])
    }

    private func headReceived(status: Int) throws {
        timeout?.cancel()
        timeout = nil
        guard status == 200 else { throw LoadError("status \(status)") }
        isOpen = true
        opened?.succeed(())
        opened = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        if let opened {
            opened.fail(LoadError("closed before the response head"))
            self.opened = nil
        } else if isOpen, !tally.stopping {
            tally.counts.dropped &+= 1
        }
        isOpen = false
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error, context: context)
    }

    private func fail(_ error: any Error, context: ChannelHandlerContext) {
        if let opened {
            opened.fail(error)
            self.opened = nil
        }
        context.close(promise: nil)
    }
}
