import NIOCore
import NIOPosix

/// The one raw client connection of the test client (`SSETestSupport`'s `SSETestClient`, and the reconnecting
/// client built on it) and `ssectl tail`: a TCP connection that writes a request exactly as given and hands every
/// byte of the answer, then the close, to its caller, who reads them with `SSEResponseReader`.
///
/// Raw on purpose: the test client sends malformed and oversized requests and must see the answer byte for byte
/// (chunk framing included), which an HTTP client codec would refuse or hide.
public enum SSEStreamConnection {
    /// Connects to `host`:`port`, then writes `request`. Every buffer read goes to `onRead` and the close to
    /// `onClose`, in order, on the connection's loop; `onRead` may be called before this function returns (a server
    /// that answers at once), so the caller's state must exist first.
    ///
    /// With `reading: false` nothing is read after connecting and the receive buffer is `receiveBufferBytes`
    /// (when given), so the server's unsent bytes pile up: a slow consumer. A failed write is not thrown: a server
    /// may answer and close before taking the whole request (a 431 to a 100 KB head), and what it said, or that it
    /// said nothing, reaches `onRead` and `onClose` like any answer.
    public static func open(
        host: String, port: Int, request: String, group: any EventLoopGroup, reading: Bool = true,
        receiveBufferBytes: Int? = nil, onRead: @escaping @Sendable (ByteBuffer, any Channel) -> Void,
        onClose: @escaping @Sendable () -> Void
    ) async throws -> any Channel {
        var bootstrap = ClientBootstrap(group: group).channelOption(.autoRead, value: reading)
        if let receiveBufferBytes {
            bootstrap = bootstrap.channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(receiveBufferBytes))
        }
        let channel = try await bootstrap.channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(Receiver(onRead: onRead, onClose: onClose))
            }
        }.connect(host: host, port: port).get()
        do {
            try await channel.writeAndFlush(ByteBuffer(string: request)).get()
        } catch {
            // Reported through onRead and onClose (see above).
        }
        return channel
    }
}

/// Hands what the connection reads, and its close, to the caller's callbacks.
private final class Receiver: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let onRead: @Sendable (ByteBuffer, any Channel) -> Void
    private let onClose: @Sendable () -> Void

    init(onRead: @escaping @Sendable (ByteBuffer, any Channel) -> Void, onClose: @escaping @Sendable () -> Void) {
        self.onRead = onRead
        self.onClose = onClose
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        onRead(unwrapInboundIn(data), context.channel)
    }

    func channelInactive(context: ChannelHandlerContext) {
        onClose()
        context.fireChannelInactive()
    }

    /// A read error (a reset) ends the connection; the caller sees it as the close.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
