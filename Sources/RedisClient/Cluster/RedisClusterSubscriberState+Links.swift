import Logging
import NIOCore

extension RedisClusterSubscriberState {
    /// The link to `endpoint`, opened (and started) on first use.
    func link(for endpoint: RedisConfiguration.Endpoint) -> Link {
        if let link = links[endpoint] { return link }
        var configuration = cluster.template
        configuration.endpoint = endpoint
        let box = self.box!
        let eventLoop = self.eventLoop
        let logger = self.logger
        let status = RedisLinkStatus(address: configuration.address)
        let subscriber = RedisSubscriberState(
            address: configuration.address, eventLoop: eventLoop, options: options.link, logger: logger,
            onEvent: { event in box.value.linkEvent(endpoint, event) },
            connect: { onPush in
                RedisConnection.connectFuture(
                    configuration: configuration, eventLoop: eventLoop, logger: logger, onPush: onPush)
            },
            sharded: true,
            onServerUnsubscribe: { names in box.value.droppedByServer(endpoint, names) },
            probeConnect: {
                RedisConnection.connectFuture(configuration: configuration, eventLoop: eventLoop, logger: logger)
            },
            status: status)
        subscriber.onProbeChannelLost = { box.value.refreshNow() }
        let link = Link(endpoint: endpoint, address: configuration.address, subscriber: subscriber)
        links[endpoint] = link
        linkStatuses.add(status, address: link.address)
        subscriber.setProbeChannel(probeChannel(for: endpoint))
        subscriber.start()
        return link
    }

    /// A shard channel of the first slot `endpoint` serves in the current map, for that link's probes (nil when it
    /// serves none).
    func probeChannel(for endpoint: RedisConfiguration.Endpoint) -> String? {
        guard let map, let shard = map.shards.first(where: { $0.primary.endpoint == endpoint }),
            let first = shard.slotRanges.first?.lowerBound
        else { return nil }
        return ShardProbeChannel.name(id: probeID, slot: HashSlot(first))
    }

    /// Moves each link's probe channel to a slot its primary serves in the current map.
    func placeProbes() {
        for (endpoint, link) in links {
            let current = link.subscriber.probe?.channel
            if let current, link.subscriber.probe?.lost == false, map?.primary(for: HashSlot(key: current)) == endpoint
            {
                continue
            }
            link.subscriber.setProbeChannel(probeChannel(for: endpoint))
        }
    }

    func linkEvent(_ endpoint: RedisConfiguration.Endpoint, _ event: RedisSubscriber.Event) {
        guard let link = links[endpoint] else { return }
        switch event {
        case .message(let channel, let payload):
            onEvent(.message(channel: channel, payload: payload))
        case .patternMessage:
            break
        case .connected:
            link.isUp = true
            stopDownRefresh(link)
            onEvent(.shardConnected(address: link.address))
        case .reconnected:
            link.isUp = true
            stopDownRefresh(link)
            onEvent(.shardReconnected(address: link.address, channels: link.subscriber.channels.sorted()))
        case .disconnected(let error):
            link.isUp = false
            onEvent(.shardDisconnected(address: link.address, error))
            // The primary may be failing over: read the map now and again until the link is back or its
            // channels have moved to the promoted replica.
            refreshNow()
            guard link.downRefresh == nil else { return }
            let interval = TimeAmount(options.downLinkRefreshInterval)
            let box = self.box!
            link.downRefresh = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
                box.value.refreshNow()
            }
        }
    }

    /// An unsolicited `sunsubscribe` (or `MOVED` for a restore): the slot left this primary.
    func droppedByServer(_ endpoint: RedisConfiguration.Endpoint, _ names: [String]) {
        let address = links[endpoint]?.address ?? RedisClusterClient.address(endpoint)
        for name in names where assignment[name] == endpoint {
            assignment[name] = nil
            confirmed.remove(name)
            droppedBy[name] = (endpoint, eventLoop.now)
        }
        onEvent(.unsubscribedByServer(address: address, channels: names.sorted()))
        refreshNow()
    }

    private func stopDownRefresh(_ link: Link) {
        link.downRefresh?.cancel()
        link.downRefresh = nil
    }

    /// Closes the links that hold nothing and have nothing on the way.
    func closeIdleLinks() {
        let used = Set(assignment.values)
        for (endpoint, link) in links where !used.contains(endpoint) && link.subscriber.channels.isEmpty {
            stopDownRefresh(link)
            links[endpoint] = nil
            linkStatuses.remove(address: link.address)
            _ = link.subscriber.close()
        }
    }

    func close() -> EventLoopFuture<Void> {
        closed = true
        periodic?.cancel()
        periodic = nil
        let error = RedisError.connectionClosed(address: "cluster")
        for promise in waiters.values.joined() { promise.fail(error) }
        waiters.removeAll()
        let closing = links.values.map { link in
            stopDownRefresh(link)
            return link.subscriber.close()
        }
        links.removeAll()
        linkStatuses.removeAll()
        return EventLoopFuture.andAllComplete(closing, on: eventLoop)
    }
}
