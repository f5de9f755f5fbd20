import Logging
import NIOCore

/// The loop-confined state of one link's end-to-end probe.
///
/// Every ``RedisSubscriber/Options/probeInterval`` the link publishes a probe (a sequence number) on a channel it
/// alone subscribes, through a command connection of its own to the same server, and expects the message back on
/// the link within ``RedisSubscriber/Options/probeTimeout``. One probe is in flight at a time.
final class LinkProbe {
    let connect: RedisSubscriberState.ProbeConnect
    /// The channel probes travel on: `sse:probe:<random id>` on a classic link (never a topic channel, whose names
    /// start `sse:{`); on a shard link, one whose slot the link's primary serves, set from the slot map.
    var channel: String?
    /// The link's current connection has confirmed the subscription to `channel`.
    var subscribed = false
    /// Earlier probe channels of a shard link, unsubscribed and awaiting Redis's confirmation.
    var retired: Set<String> = []
    /// A shard link's channel left its primary (reported through `onProbeChannelLost`): subscribed again, or
    /// replaced, at the next ``RedisSubscriberState/setProbeChannel(_:)`` even if the map still names it.
    var lost = false
    var connection: RedisConnection?
    var sequence = 0
    /// The probe out now. Its timeout runs from the publish: while a fresh probe connection is still being opened
    /// (bounded by the connect timeout) there is none, so a slow connect is not taken for a link that delivers
    /// nothing.
    var inFlight: (sequence: Int, sentAt: NIODeadline, timeout: Scheduled<Void>?)?
    /// The last probe was skipped for want of a descriptor: the warning is logged once per such run.
    var skipping = false
    var task: RepeatedTask?

    init(connect: @escaping RedisSubscriberState.ProbeConnect, channel: String?) {
        self.connect = connect
        self.channel = channel
    }

    /// The random part of probe channel names: one per link, so no two links (or nodes) see each other's probes.
    static func randomID() -> String {
        String(UInt64.random(in: 0...UInt64.max), radix: 36)
    }

    static func classicChannel() -> String { "sse:probe:\(randomID())" }
}

extension RedisSubscriberState {
    func startProbing() {
        guard let probe else { return }
        let interval = TimeAmount(options.probeInterval)
        let state = NIOLoopBound(self, eventLoop: eventLoop)
        probe.task = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            state.value.sendProbe()
        }
    }

    func stopProbing() {
        guard let probe else { return }
        probe.task?.cancel()
        probe.task = nil
        probe.inFlight?.timeout?.cancel()
        probe.inFlight = nil
        probe.connection?.closeNow()
        probe.connection = nil
    }

    /// Sent right after the restore: the probe subscription is the link's last, so probes start once it is complete.
    func subscribeProbeChannel(on connection: RedisConnection) {
        guard let probe, let channel = probe.channel else { return }
        probe.subscribed = false
        probe.lost = false
        connection.sendWithoutReply(RedisCommand(sharded ? "SSUBSCRIBE" : "SUBSCRIBE", arguments: [channel]))
    }

    /// The link's connection is gone: the probe in flight is moot (the loss is already reported).
    func probeConnectionLost() {
        guard let probe else { return }
        probe.subscribed = false
        probe.retired.removeAll()
        probe.inFlight?.timeout?.cancel()
        probe.inFlight = nil
    }

    /// A shard link's probe channel from the current slot map (nil: the primary serves no slot right now).
    func setProbeChannel(_ channel: String?) {
        guard let probe, probe.channel != channel || probe.lost else { return }
        probe.inFlight?.timeout?.cancel()
        probe.inFlight = nil
        let previous = probe.channel == channel ? nil : probe.channel
        probe.channel = channel
        probe.subscribed = false
        status.setProbeChannel(channel)
        guard case .connected(let connection, _) = phase else { return }
        if let previous {
            probe.retired.insert(previous)
            connection.sendWithoutReply(RedisCommand("SUNSUBSCRIBE", arguments: [previous]))
        }
        subscribeProbeChannel(on: connection)
    }

    /// Takes a confirmation that concerns the probe channel (true), or leaves it to the caller's requests (false).
    func probeConfirmed(_ kind: SubscriptionKind, _ name: String) -> Bool {
        guard let probe else { return false }
        if probe.retired.remove(name) != nil { return true }
        guard name == probe.channel else { return false }
        if kind.adds {
            probe.subscribed = true
        } else {
            // Unasked (a shard link): the slot left this primary.
            probeChannelLost()
        }
        return true
    }

    /// A `MOVED` for `slot` on a shard link: if it is the probe channel's slot, the channel must move.
    func probeSlotRedirected(_ slot: HashSlot) {
        guard let probe, let channel = probe.channel, HashSlot(key: channel) == slot else { return }
        probeChannelLost()
    }

    private func probeChannelLost() {
        guard let probe else { return }
        probe.subscribed = false
        probe.lost = true
        onProbeChannelLost?()
    }

    /// One probe, when the link is complete and none is in flight.
    func sendProbe() {
        guard let probe, probe.inFlight == nil, probe.subscribed, let channel = probe.channel,
            case .connected(_, let restoring) = phase, restoring.isEmpty
        else { return }
        probe.sequence += 1
        let sequence = probe.sequence
        probe.inFlight = (sequence, eventLoop.now, nil)
        status.probeSent()
        let command = RedisCommand(sharded ? "SPUBLISH" : "PUBLISH", arguments: [channel, String(sequence)])
        withProbeConnection { [self] result in
            switch result {
            case .failure(let error as RedisError):
                if case .outOfLocalResources = error {
                    probeSkipped(sequence, error)
                } else {
                    probeFailed(sequence, reason: "cannot connect to publish the probe: \(error)")
                }
            case .failure(let error):
                probeFailed(sequence, reason: "cannot connect to publish the probe: \(error)")
            case .success(let connection):
                guard let probe = self.probe, probe.inFlight?.sequence == sequence else { return }
                probe.skipping = false
                let timeout = eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(options.probeTimeout)) {
                    [self] in
                    probeFailed(sequence, reason: "no probe back within \(options.probeTimeout)")
                }
                probe.inFlight = (sequence, eventLoop.now, timeout)
                connection.sendFuture(command).hop(to: eventLoop).assumeIsolated().whenComplete { [self] reply in
                    published(sequence, reply, on: connection)
                }
            }
        }
    }

    private func withProbeConnection(_ body: @escaping (Result<RedisConnection, any Error>) -> Void) {
        guard let probe else { return }
        if let connection = probe.connection, connection.isActive {
            body(.success(connection))
            return
        }
        probe.connection = nil
        probe.connect().hop(to: eventLoop).assumeIsolated().whenComplete { [self] result in
            if case .success(let connection) = result {
                guard let probe = self.probe, probe.task != nil else {
                    connection.closeNow()  // closed meanwhile
                    return
                }
                probe.connection = connection
            }
            body(result)
        }
    }

    private func published(_ sequence: Int, _ reply: Result<RedisReply, any Error>, on connection: RedisConnection) {
        guard let probe, probe.inFlight?.sequence == sequence else { return }
        switch reply {
        case .success(.integer(let receivers)) where receivers > 0:
            break  // on its way: the link's message completes it
        case .success(.integer):
            probeFailed(sequence, reason: "the probe reached no subscriber")
        case .success(.error(let message)) where sharded && ClusterRedirect(errorMessage: message) != nil:
            // The probe channel's slot moved: not the link's fault; it gets a new channel from the next map.
            probe.inFlight?.timeout?.cancel()
            probe.inFlight = nil
            probeChannelLost()
        case .success(let other):
            probeFailed(sequence, reason: "the probe's publish answered \(other)")
        case .failure(let error):
            if probe.connection === connection { probe.connection = nil }
            probeFailed(sequence, reason: "the probe's publish failed: \(error)")
        }
    }

    /// A message on the probe channel: the probe in flight came back (an older one, late, is ignored).
    func probeReturned(_ payload: ByteBuffer) {
        guard let probe, let inFlight = probe.inFlight, Int(String(buffer: payload)) == inFlight.sequence else {
            return
        }
        inFlight.timeout?.cancel()
        probe.inFlight = nil
        let elapsed = eventLoop.now - inFlight.sentAt
        status.probeSucceeded(roundTrip: .nanoseconds(elapsed.nanoseconds))
    }

    /// The probe's connection could not be made because this process is out of descriptors or memory (at its
    /// open-file limit, say, with every descriptor held by clients). That says nothing about the link: replacing it
    /// would drop a subscription that delivers, and its new connection would need a descriptor too. The link is
    /// kept; the next probe tries again.
    private func probeSkipped(_ sequence: Int, _ error: RedisError) {
        guard let probe, probe.inFlight?.sequence == sequence else { return }
        probe.inFlight = nil
        status.probeSkipped()
        if !probe.skipping {
            logger.warning(
                "Redis subscriber link cannot send its probe, keeping the link",
                metadata: ["redis.address": "\(address)", "error": "\(error)"])
        }
        probe.skipping = true
    }

    /// The link does not deliver: counted, and its connection closed, so it reconnects with the usual backoff and
    /// resubscribes (``RedisSubscriber/Event/disconnected(_:)`` then ``RedisSubscriber/Event/reconnected``).
    private func probeFailed(_ sequence: Int, reason: String) {
        guard let probe, let inFlight = probe.inFlight, inFlight.sequence == sequence else { return }
        inFlight.timeout?.cancel()
        probe.inFlight = nil
        // No probe on this connection again: its close completes a little later, and a tick could come first.
        probe.subscribed = false
        status.probeFailed()
        logger.warning(
            "Redis subscriber link failed its probe, replacing the connection",
            metadata: ["redis.address": "\(address)", "error": "\(reason)"])
        // The probe's own connection may be the broken part: a fresh one is opened for the next probe.
        probe.connection?.closeNow()
        probe.connection = nil
        if case .connected(let connection, _) = phase { connection.closeNow() }
    }
}
