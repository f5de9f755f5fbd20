import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// The one raw client connection of the test client (`SSETestSupport`'s `SSETestClient`, and the reconnecting
/// client built on it), `ssectl tail` and the load generator's streams (`sse-load subscribe`): a TCP connection that
/// writes a request exactly as given and hands every byte of the answer, then the close, to its caller, who reads
/// them with `SSEResponseReader`.
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
    /// said nothing, reaches `onRead` and `onClose` like any answer. `sourceAddress`: see
    /// ``open(to:request:group:sourceAddress:connectTimeout:onRead:onClose:)``.
    public static func open(
        host: String, port: Int, request: String, group: any EventLoopGroup, reading: Bool = true,
        receiveBufferBytes: Int? = nil, sourceAddress: SocketAddress? = nil,
        onRead: @escaping @Sendable (ByteBuffer, any Channel) -> Void, onClose: @escaping @Sendable () -> Void
    ) async throws -> any Channel {
        var bootstrap = ClientBootstrap(group: group).channelOption(.autoRead, value: reading)
        if let receiveBufferBytes {
            bootstrap = bootstrap.channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(receiveBufferBytes))
        }
        let channel = try await receiving(bootstrap, from: sourceAddress, onRead: onRead, onClose: onClose)
            .connect(host: host, port: port).get()
        await write(ByteBuffer(string: request), on: channel)
        return channel
    }

    /// Connects to an address resolved once by the caller, then writes `request`; reads and the close are handed on
    /// as by ``open(host:port:request:group:reading:receiveBufferBytes:sourceAddress:onRead:onClose:)``.
    ///
    /// For clients that open thousands of streams to one server (the load generator): no name lookup per
    /// connection, and the request is a buffer built once and shared. With `sourceAddress` (port 0) the socket is
    /// bound to that local address before it connects, with Linux's `IP_BIND_ADDRESS_NO_PORT` so the kernel picks
    /// the port at `connect`, where it only has to be unique for the address pair: one source address gives at most
    /// ~28,000 connections to one server port (the ephemeral range), so more need 127.0.0.2, 127.0.0.3, …
    /// `connectTimeout` replaces NIO's default of 10 s.
    public static func open(
        to address: SocketAddress, request: ByteBuffer, group: any EventLoopGroup, sourceAddress: SocketAddress? = nil,
        connectTimeout: TimeAmount? = nil, onRead: @escaping @Sendable (ByteBuffer, any Channel) -> Void,
        onClose: @escaping @Sendable () -> Void
    ) async throws -> any Channel {
        var bootstrap = ClientBootstrap(group: group)
        if let connectTimeout { bootstrap = bootstrap.connectTimeout(connectTimeout) }
        let channel = try await receiving(bootstrap, from: sourceAddress, onRead: onRead, onClose: onClose)
            .connect(to: address).get()
        await write(request, on: channel)
        return channel
    }

    /// Linux `IP_BIND_ADDRESS_NO_PORT` (not exported by Glibc's Swift overlay).
    private static let bindAddressNoPort = NIOBSDSocket.Option(rawValue: 24)

    /// `bootstrap` with the handler that hands reads and the close on, bound to `sourceAddress` when given.
    private static func receiving(
        _ bootstrap: ClientBootstrap, from sourceAddress: SocketAddress?,
        onRead: @escaping @Sendable (ByteBuffer, any Channel) -> Void, onClose: @escaping @Sendable () -> Void
    ) -> ClientBootstrap {
        var bootstrap = bootstrap.channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(Receiver(onRead: onRead, onClose: onClose))
            }
        }
        if let sourceAddress {
            let option = ChannelOptions.Types.SocketOption(
                level: .init(rawValue: CInt(IPPROTO_IP)), name: bindAddressNoPort)
            bootstrap = bootstrap.channelOption(option, value: 1).bind(to: sourceAddress)
        }
        return bootstrap
    }

    /// Writes the request; a failure is not thrown (see above).
    private static func write(_ request: ByteBuffer, on channel: any Channel) async {
        do {
            try await channel.writeAndFlush(request).get()
        } catch {
            // Reported through onRead and onClose (see above).
        }
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
