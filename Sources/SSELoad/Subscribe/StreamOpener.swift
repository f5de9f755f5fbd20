import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// Opens benchmark streams to one target, a bounded number at a time, each bound to one of the loopback source
/// addresses 127.0.0.1, 127.0.0.2, … in turn.
///
/// One source address gives at most ~28,000 connections to one server port (the ephemeral port range), so 20,000
/// streams per process, or several processes, need more than one. Sockets are bound with
/// `IP_BIND_ADDRESS_NO_PORT`, so the port is picked at `connect` and only has to be unique per address pair.
struct StreamOpener: Sendable {
    let target: StreamTarget
    /// The request of stream `index` is `requests[index % requests.count]` (one per topic).
    let requests: [ByteBuffer]
    let tallies: [ObjectIdentifier: NIOLoopBound<DeliveryTally>]
    let sourceAddresses: [SocketAddress]
    let headTimeout: TimeAmount

    /// Linux `IP_BIND_ADDRESS_NO_PORT` (not exported by Glibc's Swift overlay).
    private static let bindAddressNoPort = NIOBSDSocket.Option(rawValue: 24)

    /// `127.0.0.1` … `127.0.0.<count>` (at most 254); empty for `count` 0, meaning "let the kernel choose".
    static func loopbackSources(count: Int) throws -> [SocketAddress] {
        try (0..<min(max(count, 0), 254)).map { try SocketAddress(ipAddress: "127.0.0.\($0 + 1)", port: 0) }
    }

    /// Opens stream `index` on `loop`; returns its channel once the response head said 200.
    func open(index: Int, on loop: any EventLoop) async throws -> any Channel {
        let opened = loop.makePromise(of: Void.self)
        let tally = tallies[ObjectIdentifier(loop)]!
        let request = requests[index % requests.count]
        let headTimeout = self.headTimeout
        var bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(headTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = StreamClientHandler(
                        request: request, tally: tally.value, headTimeout: headTimeout, opened: opened)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        if !sourceAddresses.isEmpty {
            bootstrap =
                bootstrap
                .channelOption(
                    ChannelOptions.Types.SocketOption(
                        level: .init(rawValue: CInt(IPPROTO_IP)), name: Self.bindAddressNoPort),
                    value: 1
                )
                .bind(to: sourceAddresses[index % sourceAddresses.count])
        }
        let connected = bootstrap.connect(to: target.address)
        connected.whenFailure { opened.fail($0) }
        let channel = try await connected.get()
        do {
            try await opened.futureResult.get()
        } catch {
            channel.close(promise: nil)
            throw error
        }
        return channel
    }
}
