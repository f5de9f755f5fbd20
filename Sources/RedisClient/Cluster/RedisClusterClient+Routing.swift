import NIOCore
import Synchronization

extension RedisClusterClient {
    /// Sends one command to the primary serving `key`'s slot; an error reply is thrown as
    /// ``RedisError/server(message:)``.
    @discardableResult
    public func send(_ command: RedisCommand, key: String) async throws -> RedisReply {
        try await send(command, slot: HashSlot(key: key))
    }

    @discardableResult
    public func send(_ command: RedisCommand, slot: HashSlot) async throws -> RedisReply {
        try await run([command], slot: slot)[0].throwingServerError()
    }

    /// Sends commands about one slot in one write; replies in order, error replies inline.
    ///
    /// Commands that are redirected or asked to retry are sent again (to the new owner) after the others have run,
    /// so a pipeline is not a transaction: use `FCALL` for what must happen together.
    public func pipeline(_ commands: [RedisCommand], key: String) async throws -> [RedisReply] {
        try await run(commands, slot: HashSlot(key: key))
    }

    public func pipeline(_ commands: [RedisCommand], slot: HashSlot) async throws -> [RedisReply] {
        try await run(commands, slot: slot)
    }

    /// A ``RedisCommandRunner`` whose every command goes to `key`'s slot: for code written against one Redis
    /// (`fcall`, `load`, the history reads) that works on one topic.
    public func routed(key: String) -> RedisClusterKeyRunner {
        RedisClusterKeyRunner(cluster: self, slot: HashSlot(key: key))
    }

    /// Loads (or replaces) a function library on every primary: functions are not propagated between shards, only
    /// to a primary's replicas. Every primary is tried; the first failure is thrown after all have been tried.
    public func loadOnEveryPrimary(_ library: RedisFunctionLibrary) async throws {
        let primaries = try await slotMap().primaries
        try await withThrowingTaskGroup(of: Void.self) { group in
            for endpoint in primaries {
                let client = try client(for: endpoint)
                group.addTask { try await client.load(library) }
            }
            var firstError: (any Error)?
            while let result = await group.nextResult() {
                if case .failure(let error) = result, firstError == nil { firstError = error }
            }
            if let firstError { throw firstError }
        }
    }

    /// The routing loop: sends the commands still unanswered to the slot's primary (or an `ASK` target), keeps the
    /// final replies, and goes around again for the redirected and retryable ones.
    func run(_ commands: [RedisCommand], slot: HashSlot) async throws -> [RedisReply] {
        var replies = [RedisReply?](repeating: nil, count: commands.count)
        var unanswered = Array(commands.indices)
        var redirects = 0
        var askTarget: RedisConfiguration.Endpoint?
        let deadline = ContinuousClock.now + options.retryDeadline
        let name = commands.first?.name ?? "pipeline"

        func pauseOrGiveUp(_ last: String) async throws {
            guard ContinuousClock.now < deadline else {
                throw RedisClusterError.retriesExhausted(
                    command: name, milliseconds: options.retryDeadline.milliseconds, last: last)
            }
            try await Task.sleep(for: options.retryDelay)
        }

        while !unanswered.isEmpty {
            let endpoint: RedisConfiguration.Endpoint
            if let askTarget {
                endpoint = askTarget
            } else {
                endpoint = try await primary(for: slot)
            }
            let batch = unanswered.map { commands[$0] }
            let asking = askTarget != nil
            askTarget = nil
            var received: [RedisReply]
            do {
                received = try await client(for: endpoint).pipeline(
                    asking ? batch.flatMap { [RedisCommand("ASKING"), $0] } : batch)
            } catch let error as RedisError {
                switch error {
                case .connectionRefused, .connectTimeout, .connectFailed, .outOfLocalResources:
                    // Nothing was sent: the primary is gone or not up yet. Its replica may be taking over.
                    _ = try? await refreshSlotMap()
                    try await pauseOrGiveUp("\(error)")
                    continue
                default:
                    // The command may have run; the caller decides whether to repeat it. The map may be stale.
                    scheduleRefresh()
                    throw error
                }
            }
            if asking { received = stride(from: 1, to: received.count, by: 2).map { received[$0] } }
            var again: [Int] = []
            var redirected: String?
            var retryable: String?
            for (position, index) in unanswered.enumerated() {
                let reply = received[position]
                if case .error(let message) = reply {
                    if let redirect = ClusterRedirect(errorMessage: message, defaultHost: Self.host(of: endpoint)) {
                        again.append(index)
                        redirected = message
                        if redirect.kind == .moved {
                            recordMoved(redirect)
                            movedCount.add(1, ordering: .relaxed)
                        } else {
                            askTarget = redirect.endpoint
                            askCount.add(1, ordering: .relaxed)
                        }
                        continue
                    }
                    if Self.isRetryable(message) {
                        again.append(index)
                        retryable = message
                        continue
                    }
                }
                replies[index] = reply
            }
            if let redirected {
                redirects += 1
                if redirected.hasPrefix("MOVED") { scheduleRefresh() }
                guard redirects <= options.maximumRedirects else {
                    throw RedisClusterError.tooManyRedirects(command: name, count: redirects, last: redirected)
                }
            } else if let retryable {
                if retryable.hasPrefix("CLUSTERDOWN") { scheduleRefresh() }
                try await pauseOrGiveUp(retryable)
            }
            unanswered = again
        }
        return replies.map { $0! }
    }

    /// The primary serving `slot`; reads the map again once when the slot is not covered.
    private func primary(for slot: HashSlot) async throws -> RedisConfiguration.Endpoint {
        if let endpoint = try await slotMap().primary(for: slot) { return endpoint }
        if let endpoint = try await refreshSlotMap().primary(for: slot) { return endpoint }
        throw RedisClusterError.slotNotCovered(slot)
    }

    /// Errors that say "not now, here" rather than "never": the cluster is reconfiguring or the node is loading.
    static func isRetryable(_ message: String) -> Bool {
        message.hasPrefix("CLUSTERDOWN") || message.hasPrefix("TRYAGAIN") || message.hasPrefix("LOADING")
            || message.hasPrefix("MASTERDOWN")
    }

    static func host(of endpoint: RedisConfiguration.Endpoint) -> String {
        if case .tcp(let host, _) = endpoint { return host }
        return "127.0.0.1"
    }
}

/// Commands of one slot through a ``RedisClusterClient``, as a plain ``RedisCommandRunner``.
public struct RedisClusterKeyRunner: RedisCommandRunner {
    public let cluster: RedisClusterClient
    public let slot: HashSlot

    @discardableResult
    public func send(_ command: RedisCommand) async throws -> RedisReply {
        try await cluster.send(command, slot: slot)
    }

    public func pipeline(_ commands: [RedisCommand]) async throws -> [RedisReply] {
        try await cluster.pipeline(commands, slot: slot)
    }
}
