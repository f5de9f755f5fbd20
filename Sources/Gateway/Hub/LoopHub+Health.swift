import NIOCore
import SSEProtocol

/// `/sse-health` on one loop: each loop reports its own streams, on its own thread, so nothing is locked and no
/// stream is read from another thread.
extension LoopHub {
    /// The loop's aggregate and its `top` streams by `order`, with their details.
    ///
    /// One pass over the loop's streams reads each one's figures (a few fields, and its channel's buffered bytes);
    /// only the `top` first (at most ``HealthQuery/maxTop``) are described in full (peer address, topics), so the
    /// cost is one short entry per stream and a sort, about a millisecond per 10,000 streams.
    func health(order: HealthOrder, top: Int) -> LoopHealth {
        let now = NIODeadline.now()
        var health = LoopHealth()
        var keyed: [(key: Int64, openedAt: UInt64, stream: SSEStream)] = []
        keyed.reserveCapacity(streams.count)
        for stream in streams.values {
            let unsent = stream.unsentBytes
            let age = (now - stream.openedAt).nanoseconds
            health.streams += 1
            health.byDialect[stream.format.dialect.slot] += 1
            if stream.isReplaying { health.replaying += 1 }
            health.unsentBytes += unsent
            health.oldestAgeNanoseconds = max(health.oldestAgeNanoseconds, age)
            let key: Int64
            switch order {
            case .age: key = age
            case .idle: key = (now - stream.lastWrite).nanoseconds
            case .unsent: key = Int64(unsent)
            case .events: key = Int64(stream.eventsSent)
            }
            keyed.append((key, stream.openedAt.uptimeNanoseconds, stream))
        }
        keyed.sort { $0.key != $1.key ? $0.key > $1.key : $0.openedAt < $1.openedAt }
        health.top = keyed.prefix(top).map { item in
            LoopHealth.Entry(
                key: item.key, openedAt: item.openedAt, connection: item.stream.healthDetails(now: now, loop: index))
        }
        return health
    }
}

extension SSEStream {
    /// Bytes the client has not taken yet: what the channel holds unwritten (NIO's pending writes, not the kernel's
    /// socket buffer), plus the live frames parked during a replay.
    var unsentBytes: Int {
        var bytes = 0
        if case .replaying(_, let parked) = state { bytes += parked }
        if let channel, let buffered = try? channel.syncOptions?.getOption(.bufferedWritableBytes) {
            bytes += buffered
        }
        return bytes
    }

    /// The stream as `/sse-health` lists it. Nothing of its grant (token, cookie) is included.
    func healthDetails(now: NIODeadline, loop: Int) -> HealthReport.Connection {
        HealthReport.Connection(
            topics: topics.map(\.name), dialect: format.dialect.rawValue,
            peer: channel?.remoteAddress.flatMap(Self.peerText), loop: loop,
            ageSeconds: LoopHealth.seconds((now - openedAt).nanoseconds),
            idleSeconds: LoopHealth.seconds((now - lastWrite).nanoseconds), unsentBytes: unsentBytes,
            eventsSent: eventsSent, replaying: isReplaying)
    }

    /// `127.0.0.1:5000`, `[::1]:5000`, or a Unix socket's path.
    static func peerText(_ address: SocketAddress) -> String? {
        switch address {
        case .v4: return address.ipAddress.map { "\($0):\(address.port ?? 0)" }
        case .v6: return address.ipAddress.map { "[\($0)]:\(address.port ?? 0)" }
        case .unixDomainSocket: return address.pathname
        }
    }
}
