import Synchronization

/// One ``TokenBucket`` per client address, shared by every event loop (or task) of a server, bounded in memory.
///
/// A server sees addresses without end (IPv6 gives every client plenty), so the table cannot keep each one. Only a
/// bucket that is not full carries information: a full one is what an address never seen gets anyway, so buckets
/// that have refilled are dropped. That happens when the table reaches ``capacity``, at most once a second (a sweep
/// reads every entry, and must not run once per request while the table stays full). When the table is still full
/// after a sweep, a new address is admitted without a bucket (``untrackedAdmissions`` counts them): every bucket
/// then holds a client that asked recently, and forgetting one of those would lift the limit of the very clients it
/// is slowing down. Per-address limits cannot stop many addresses anyway; the node's own limits do.
///
/// The critical section is a dictionary look-up and a few arithmetic operations.
public final class ClientRateLimiter: Sendable {
    /// Why a request was refused: how long until the address has a token again.
    public struct Refusal: Sendable, Equatable {
        public var retryAfter: Duration

        public init(retryAfter: Duration) {
            self.retryAfter = retryAfter
        }
    }

    struct State {
        var buckets: [ClientAddress: TokenBucket] = [:]
        var lastSweep: ContinuousClock.Instant?
        var untracked = 0
    }

    public let rate: TokenBucket.Rate
    /// Most addresses held at once; about 100 bytes each.
    public let capacity: Int
    private let state = Mutex(State())

    /// 65,536 addresses: about 6 MB at most, far more clients than are ever mid-burst at one moment.
    public static let defaultCapacity = 65_536

    public init(rate: TokenBucket.Rate, capacity: Int = defaultCapacity) {
        self.rate = rate
        self.capacity = max(1, capacity)
    }

    /// Takes a token for `address`, or says how long it must wait. Always admits when the rate is not limited.
    public func admit(_ address: ClientAddress, now: ContinuousClock.Instant = .now) -> Refusal? {
        guard rate.isLimited else { return nil }
        let rate = self.rate
        let capacity = self.capacity
        let wait: Duration? = state.withLock { state in
            if state.buckets[address] == nil, state.buckets.count >= capacity {
                Self.sweep(&state, rate: rate, now: now)
                guard state.buckets.count < capacity else {
                    state.untracked += 1
                    return nil
                }
            }
            return state.buckets[address, default: TokenBucket(rate, now: now)].take(rate, now: now)
        }
        return wait.map { Refusal(retryAfter: $0) }
    }

    /// Drops the buckets that are full again, unless that was done less than a second ago.
    private static func sweep(_ state: inout State, rate: TokenBucket.Rate, now: ContinuousClock.Instant) {
        if let last = state.lastSweep, now - last < .seconds(1) { return }
        state.lastSweep = now
        state.buckets = state.buckets.filter { !$0.value.isFull(rate, now: now) }
    }

    /// Addresses with a bucket now.
    public var trackedAddresses: Int { state.withLock { $0.buckets.count } }

    /// Requests admitted without a bucket because the table was full of addresses that asked recently.
    public var untrackedAdmissions: Int { state.withLock { $0.untracked } }
}
