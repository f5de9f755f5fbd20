import Logging
import NIOCore

/// The loop-confined state behind ``RedisClusterSubscriber``: which primary holds each channel, the links, and the
/// moves that follow each new slot map.
final class RedisClusterSubscriberState {
    /// One primary's subscriber link.
    final class Link {
        let endpoint: RedisConfiguration.Endpoint
        let address: String
        let subscriber: RedisSubscriberState
        var isUp = false
        /// Refreshes of the slot map while the link is down (its primary may have failed over).
        var downRefresh: RepeatedTask?

        init(endpoint: RedisConfiguration.Endpoint, address: String, subscriber: RedisSubscriberState) {
            self.endpoint = endpoint
            self.address = address
            self.subscriber = subscriber
        }
    }

    let cluster: RedisClusterClient
    let eventLoop: any EventLoop
    let options: RedisClusterSubscriber.Options
    let logger: Logger
    let onEvent: @Sendable (RedisClusterSubscriber.Event) -> Void
    var box: NIOLoopBoundBox<RedisClusterSubscriberState>?

    private(set) var map: ClusterSlotMap?
    /// The channels the caller asked for.
    private var wanted: Set<String> = []
    /// The primary each wanted channel was sent to (confirmed or in flight); absent while it has no home.
    var assignment: [String: RedisConfiguration.Endpoint] = [:]
    var confirmed: Set<String> = []
    /// Channels confirmed at least once: a later confirmation elsewhere is a resubscription.
    private var everConfirmed: Set<String> = []
    var waiters: [String: [EventLoopPromise<Void>]] = [:]
    var links: [RedisConfiguration.Endpoint: Link] = [:]
    /// Channels a primary dropped unasked (its slot left it: a hand-over, a migration), with when. A map that still
    /// places one there is stale (read from a node that has not heard of the change yet), so for
    /// ``staleOwnerWindow`` the channel waits for the next map instead of going back: a demoted primary, now a
    /// replica, would accept the `SSUBSCRIBE` and keep the channel until the next periodic refresh.
    var droppedBy: [String: (endpoint: RedisConfiguration.Endpoint, at: NIODeadline)] = [:]
    /// A refresh is scheduled for channels held back by ``droppedBy``.
    private var staleRefreshScheduled = false
    /// How long a primary that dropped a channel is not trusted with it again.
    static let staleOwnerWindow = TimeAmount.seconds(5)
    private var refreshing = false
    private var refreshAgain = false
    var periodic: RepeatedTask?
    var closed = false
    /// Every link's status, for ``RedisClusterSubscriber/links``.
    let linkStatuses: RedisLinkStatuses
    /// The random part of this subscriber's probe channels (`sse:probe:<id>:{<n>}`).
    let probeID = LinkProbe.randomID()

    init(
        cluster: RedisClusterClient, eventLoop: any EventLoop, options: RedisClusterSubscriber.Options,
        logger: Logger, linkStatuses: RedisLinkStatuses,
        onEvent: @escaping @Sendable (RedisClusterSubscriber.Event) -> Void
    ) {
        self.cluster = cluster
        self.linkStatuses = linkStatuses
        self.eventLoop = eventLoop
        self.options = options
        self.logger = logger
        self.onEvent = onEvent
    }

    func start(_ box: NIOLoopBoundBox<RedisClusterSubscriberState>) {
        self.box = box
        let interval = TimeAmount(cluster.options.refreshInterval)
        periodic = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            box.value.refreshNow()
        }
    }

    // MARK: Requests

    /// Routes `names` and answers, per name that failed, its error (an empty answer: all confirmed).
    func subscribe(_ names: Set<String>) -> EventLoopFuture<[String: RedisError]> {
        guard !closed else {
            return eventLoop.makeFailedFuture(RedisError.connectionClosed(address: "cluster"))
        }
        guard map != nil else {
            // The first map is read before anything is routed.
            let box = self.box!
            let cluster = self.cluster
            let promise = eventLoop.makePromise(of: ClusterSlotMap?.self)
            promise.completeWithTask { try? await cluster.slotMap() }
            return promise.futureResult.flatMap { map in
                guard let map else {
                    return box.value.eventLoop.makeSucceededFuture(
                        Dictionary(uniqueKeysWithValues: names.map { ($0, RedisError.server(message: "no slot map")) }))
                }
                box.value.map = map
                return box.value.subscribe(names)
            }
        }
        wanted.formUnion(names)
        var futures: [(String, EventLoopFuture<Void>)] = []
        for name in names where !confirmed.contains(name) || assignment[name] != map?.primary(for: HashSlot(key: name))
        {
            let promise = eventLoop.makePromise(of: Void.self)
            waiters[name, default: []].append(promise)
            futures.append((name, promise.futureResult))
        }
        route(names.filter { assignment[$0] != map?.primary(for: HashSlot(key: $0)) })
        return EventLoopFuture.whenAllComplete(futures.map(\.1), on: eventLoop).map { results in
            var failures: [String: RedisError] = [:]
            for ((name, _), result) in zip(futures, results) {
                if case .failure(let error) = result {
                    failures[name] = error as? RedisError ?? .protocolViolation("\(error)")
                }
            }
            return failures
        }
    }

    func unsubscribe(_ names: Set<String>) -> EventLoopFuture<Void> {
        wanted.subtract(names)
        var futures: [EventLoopFuture<Void>] = []
        var byLink: [RedisConfiguration.Endpoint: [String]] = [:]
        for name in names {
            if let endpoint = assignment.removeValue(forKey: name) { byLink[endpoint, default: []].append(name) }
            confirmed.remove(name)
            everConfirmed.remove(name)
            droppedBy[name] = nil
        }
        for (endpoint, group) in byLink {
            guard let link = links[endpoint] else { continue }
            let promise = eventLoop.makePromise(of: Void.self)
            link.subscriber.request(.sunsubscribe, group, promise: promise)
            futures.append(promise.futureResult)
        }
        let box = self.box
        return EventLoopFuture.andAllComplete(futures, on: eventLoop).map {
            if let box { box.value.closeIdleLinks() }
        }
    }

    func assignmentByAddress() -> [String: [String]] {
        var result: [String: [String]] = [:]
        for (name, endpoint) in assignment where confirmed.contains(name) {
            result[RedisClusterClient.address(endpoint), default: []].append(name)
        }
        return result.mapValues { $0.sorted() }
    }

    // MARK: Routing

    /// Takes a new map (when given) and moves every wanted channel whose slot's primary is not where it is held.
    func apply(_ newMap: ClusterSlotMap?) {
        guard !closed else { return }
        if let newMap { map = newMap }
        route(wanted.filter { assignment[$0] != map?.primary(for: HashSlot(key: $0)) })
        closeIdleLinks()
        placeProbes()
    }

    /// Sends `names` to their slots' primaries (as the map says), leaving the links that held them.
    private func route(_ names: Set<String>) {
        guard let map, !names.isEmpty else { return }
        var byOwner: [RedisConfiguration.Endpoint: [String]] = [:]
        var heldBack = false
        for name in names.sorted() {
            guard let owner = map.primary(for: HashSlot(key: name)) else {
                fail(name, .server(message: "CLUSTERDOWN no primary serves slot \(HashSlot(key: name))"))
                continue
            }
            if let dropped = droppedBy[name] {
                if dropped.endpoint == owner, eventLoop.now - dropped.at < Self.staleOwnerWindow {
                    heldBack = true
                    continue
                }
                droppedBy[name] = nil
            }
            if let previous = assignment[name], previous != owner, let link = links[previous] {
                link.subscriber.request(.sunsubscribe, [name], promise: eventLoop.makePromise())
            }
            assignment[name] = owner
            confirmed.remove(name)
            byOwner[owner, default: []].append(name)
        }
        if heldBack { refreshSoon() }
        for (owner, group) in byOwner {
            let promise = eventLoop.makePromise(of: Void.self)
            link(for: owner).subscriber.request(.ssubscribe, group, promise: promise)
            promise.futureResult.hop(to: eventLoop).assumeIsolated().whenComplete { [self] result in
                switch result {
                case .success: confirmedOn(owner, group)
                case .failure(let error):
                    refusedOn(owner, group, error as? RedisError ?? .protocolViolation("\(error)"))
                }
            }
        }
    }

    private func confirmedOn(_ owner: RedisConfiguration.Endpoint, _ group: [String]) {
        let held = group.filter { assignment[$0] == owner && wanted.contains($0) }
        confirmed.formUnion(held)
        let again = held.filter { everConfirmed.contains($0) }
        everConfirmed.formUnion(held)
        for name in held {
            for waiter in waiters.removeValue(forKey: name) ?? [] { waiter.succeed(()) }
        }
        if !again.isEmpty { onEvent(.resubscribed(channels: again.sorted())) }
    }

    /// The primary refused the channels (a redirect): they have no home until the next map places them.
    private func refusedOn(_ owner: RedisConfiguration.Endpoint, _ group: [String], _ error: RedisError) {
        if case .server(let message) = error, let redirect = ClusterRedirect(errorMessage: message),
            redirect.kind == .moved
        {
            map?.assign(redirect.slot, to: redirect.endpoint)
        }
        for name in group where assignment[name] == owner {
            assignment[name] = nil
            fail(name, error)
        }
        // A channel without a waiter (a move after a map change) is placed again by the next map.
        let box = self.box!
        eventLoop.scheduleTask(in: TimeAmount(options.downLinkRefreshInterval)) { box.value.refreshNow() }
    }

    /// One refresh after ``RedisClusterSubscriber/Options/downLinkRefreshInterval``, however often asked meanwhile.
    private func refreshSoon() {
        guard !staleRefreshScheduled else { return }
        staleRefreshScheduled = true
        let box = self.box!
        eventLoop.scheduleTask(in: TimeAmount(options.downLinkRefreshInterval)) {
            box.value.staleRefreshScheduled = false
            box.value.refreshNow()
        }
    }

    private func fail(_ name: String, _ error: RedisError) {
        for waiter in waiters.removeValue(forKey: name) ?? [] { waiter.fail(error) }
    }

    /// Reads the map (coalesced: one read at a time, one more if asked meanwhile) and applies it.
    func refreshNow() {
        guard !closed else { return }
        if refreshing {
            refreshAgain = true
            return
        }
        refreshing = true
        let box = self.box!
        let cluster = self.cluster
        let eventLoop = self.eventLoop
        Task {
            let map = try? await cluster.refreshSlotMap()
            eventLoop.execute {
                let state = box.value
                state.refreshing = false
                state.apply(map)
                if state.refreshAgain {
                    state.refreshAgain = false
                    state.refreshNow()
                }
            }
        }
    }
}
