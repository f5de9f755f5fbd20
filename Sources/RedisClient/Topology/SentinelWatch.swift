import Logging
import NIOCore
import NIOPosix
import Synchronization

/// One subscription to `+switch-master` on a sentinel, kept up across sentinel failures.
///
/// It is a ``RedisSubscriber`` whose every (re)connect goes to the next sentinel of the list, so when the sentinel
/// it listened to dies the watch moves on to another. A switch of the watched master is reported with the new
/// address and the index of the sentinel that announced it (whose view is then the freshest); a reconnect of the
/// watch is reported too, since a switch may have happened while nobody listened.
final class SentinelWatch: Sendable {
    static let channel = "+switch-master"
    private let subscriber: RedisSubscriber

    init(
        configuration: SentinelConfiguration, logger: Logger,
        onSwitch: @escaping @Sendable (_ master: RedisHostPort, _ sentinel: Int) -> Void,
        onReconnect: @escaping @Sendable () -> Void
    ) {
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let attempts = Atomic<Int>(0)
        /// The sentinel of the current (or latest) connection.
        let current = Atomic<Int>(0)
        var options = RedisSubscriber.Options()
        options.healthCheckInterval = .seconds(2)
        options.maximumBackoff = .seconds(1)
        let masterName = configuration.masterName
        subscriber = RedisSubscriber(
            address: "sentinels of \(configuration.summary)", eventLoop: eventLoop, options: options, logger: logger,
            connect: { onPush in
                let sentinels = configuration.sentinels
                let index = (attempts.add(1, ordering: .relaxed).oldValue) % sentinels.count
                current.store(index, ordering: .relaxed)
                return RedisConnection.connectFuture(
                    configuration: configuration.sentinel(sentinels[index]), eventLoop: eventLoop, logger: logger,
                    onPush: onPush)
            },
            onEvent: { event in
                switch event {
                case .message(let channel, let payload) where channel == Self.channel:
                    // "<master name> <old ip> <old port> <new ip> <new port>"
                    let fields = String(buffer: payload).split(separator: " ")
                    guard fields.count == 5, fields[0] == masterName, let port = Int(fields[4]) else { return }
                    onSwitch(RedisHostPort(host: String(fields[3]), port: port), current.load(ordering: .relaxed))
                case .reconnected:
                    onReconnect()
                default:
                    break
                }
            })
    }

    func start() {
        _ = subscriber.requestFuture(.subscribe, [Self.channel])
        subscriber.start()
    }

    func close() async {
        await subscriber.close()
    }
}
