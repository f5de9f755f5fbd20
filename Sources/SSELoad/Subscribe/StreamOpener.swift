import NIOCore
import NIOPosix
import SSEClient

/// Opens benchmark streams to one target, a bounded number at a time, each bound to one of the loopback source
/// addresses 127.0.0.1, 127.0.0.2, … in turn.
///
/// One source address gives at most ~28,000 connections to one server port (the ephemeral port range), so 20,000
/// streams per process, or several processes, need more than one. Each stream is an `SSEStreamConnection`, the
/// client connection of the test client and `ssectl tail` too, read by a ``BenchmarkStream``.
struct StreamOpener: Sendable {
    let target: StreamTarget
    /// The request of stream `index` is `requests[index % requests.count]` (one per topic).
    let requests: [ByteBuffer]
    let tallies: [ObjectIdentifier: NIOLoopBound<DeliveryTally>]
    let sourceAddresses: [SocketAddress]
    let headTimeout: TimeAmount

    /// `127.0.0.1` … `127.0.0.<count>` (at most 254); empty for `count` 0, meaning "let the kernel choose".
    static func loopbackSources(count: Int) throws -> [SocketAddress] {
        try (0..<min(max(count, 0), 254)).map { try SocketAddress(ipAddress: "127.0.0.\($0 + 1)", port: 0) }
    }

    /// Opens stream `index` on `loop`; returns its channel once the response head said 200.
    ///
    /// The head must arrive within ``headTimeout`` of the request being written (the connect has its own limit of
    /// the same length).
    func open(index: Int, on loop: any EventLoop) async throws -> any Channel {
        let opened = loop.makePromise(of: Void.self)
        let stream = NIOLoopBoundBox.makeBoxSendingValue(
            BenchmarkStream(tally: tallies[ObjectIdentifier(loop)]!, opened: opened), eventLoop: loop)
        let channel: any Channel
        do {
            channel = try await SSEStreamConnection.open(
                to: target.address, request: requests[index % requests.count], group: loop,
                sourceAddress: sourceAddresses.isEmpty ? nil : sourceAddresses[index % sourceAddresses.count],
                connectTimeout: headTimeout,
                onRead: { buffer, channel in
                    if stream.value.read(buffer, receivedAt: Clock.wallNanoseconds()) != nil {
                        channel.close(promise: nil)
                    }
                },
                onClose: { stream.value.closed() })
        } catch {
            opened.fail(error)
            throw error
        }
        let limit = headTimeout
        let timeout = loop.scheduleTask(in: limit) {
            opened.fail(LoadError("no response head within \(limit.nanoseconds / 1_000_000_000) s"))
            channel.close(promise: nil)
        }
        do {
            try await opened.futureResult.get()
            timeout.cancel()
        } catch {
            timeout.cancel()
            channel.close(promise: nil)
            throw error
        }
        return channel
    }
}
