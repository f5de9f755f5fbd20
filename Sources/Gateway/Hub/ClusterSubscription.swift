import NIOCore
import RedisClient
import SSEProtocol

/// The node's subscriptions on a Redis Cluster, as one ``SubscriptionControl``: topic channels are shard channels
/// (`SSUBSCRIBE` on the primary of each topic's slot, ``RedisClusterSubscriber``), the control channel a classic
/// subscription on any node (the Cluster broadcasts classic `PUBLISH` to every node, and `sse_revoke` publishes that
/// way).
struct ClusterSubscription: SubscriptionControl {
    let control: RedisSubscriber
    let shards: RedisClusterSubscriber

    func requestFuture(_ kind: SubscriptionKind, _ channels: [String]) -> EventLoopFuture<Void> {
        let controlChannels = channels.filter { $0 == ControlMessage.channel }
        let shardChannels = channels.filter { $0 != ControlMessage.channel }
        var futures: [EventLoopFuture<Void>] = []
        if !controlChannels.isEmpty { futures.append(control.requestFuture(kind, controlChannels)) }
        if !shardChannels.isEmpty {
            let shards = self.shards
            futures.append(
                shards.eventLoop.makeFutureWithTask {
                    switch kind {
                    case .subscribe: try await shards.subscribe(shardChannels)
                    case .unsubscribe: try await shards.unsubscribe(shardChannels)
                    default: throw RedisError.protocolViolation("a Cluster node subscribes to topics by name")
                    }
                })
        }
        return EventLoopFuture.andAllSucceed(futures, on: shards.eventLoop)
    }
}
