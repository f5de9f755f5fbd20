import NIOCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One file descriptor held back for the moment the process runs out of them.
///
/// Out of descriptors, accept(2) fails while connections wait in the listen queue, and NIO's listener keeps
/// retrying: its read stays pending until an accept succeeds, so an ``AcceptBackoffHandler`` alone cannot pause it
/// (the loop spins at 100 % and serves nothing). When an accept fails for lack of descriptors the reserve is closed,
/// so the next accept succeeds: that connection is answered `503` and closed at once (``shed(_:)``), the listener's
/// pause then takes effect, and the reserve is taken again when the connection is gone.
final class DescriptorReserve: Sendable {
    private struct State {
        var descriptor: CInt
        /// Connections to answer 503 and close before any other work, one per released reserve.
        var toShed = 0
    }

    private let state: Mutex<State>

    init() {
        state = Mutex(State(descriptor: open("/dev/null", O_RDONLY | O_CLOEXEC)))
    }

    deinit {
        state.withLock { if $0.descriptor >= 0 { close($0.descriptor) } }
    }

    /// Frees the reserve (after an accept failed for lack of descriptors); the next accepted connection is shed.
    func release() {
        state.withLock { state in
            guard state.descriptor >= 0 else { return }
            close(state.descriptor)
            state.descriptor = -1
            state.toShed += 1
        }
    }

    /// Whether the connection just accepted is one to shed (it took the reserve's place).
    func claimShed() -> Bool {
        state.withLock { state in
            guard state.toShed > 0 else { return false }
            state.toShed -= 1
            return true
        }
    }

    /// Takes the reserve again once a shed connection is closed.
    func restore() {
        state.withLock { state in
            if state.descriptor < 0 { state.descriptor = open("/dev/null", O_RDONLY | O_CLOEXEC) }
        }
    }

    /// Answers a connection accepted on the reserve's descriptor with 503 and closes it.
    func shed(_ channel: any Channel) {
        let body = "node out of file descriptors: retry later\n"
        let answer =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "
            + "\(body.utf8.count)\r\nRetry-After: 1\r\nConnection: close\r\n\r\n" + body
        channel.closeFuture.whenComplete { [self] _ in restore() }
        channel.writeAndFlush(ByteBuffer(string: answer)).whenComplete { _ in channel.close(promise: nil) }
    }
}
