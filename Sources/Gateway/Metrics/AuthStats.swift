import Synchronization

/// The figures of private topics: requests refused by reason, streams opened with a token, ended at its expiry
/// or by a revocation, and revocations received. Refusals are counted under a lock (they are not the hot path).
public final class AuthStats: Sendable {
    /// Every reason a request is refused under (`TokenRejection.reason`, plus `not_granted` for a 403), so that
    /// each has a series from the start.
    static let reasons = [
        "missing", "too_large", "malformed", "unknown_key", "algorithm", "bad_signature", "expired", "not_yet_valid",
        "wrong_issuer", "wrong_audience", "revoked", "not_granted",
    ]

    private let refusals = Mutex([String: Int]())
    /// Streams opened for private topics (with a token).
    let authorizedStreams = Atomic<Int>(0)
    /// Streams ended at their token's expiry (after `event: token-expired`).
    let expiredStreams = Atomic<Int>(0)
    /// Streams ended by a revocation (after `event: revoked`).
    let revokedStreams = Atomic<Int>(0)
    /// Revocation messages received from the control channel.
    let revocations = Atomic<Int>(0)
    /// The revocations kept in Redis were read since the subscription last came up (readiness waits for it).
    let revocationsLoaded = Atomic<Bool>(false)

    init() {}

    func refused(_ reason: String) {
        refusals.withLock { $0[reason, default: 0] += 1 }
    }

    /// Refusals by reason, every known reason present.
    var refusalsByReason: [String: Int] {
        refusals.withLock { counts in
            var all = Dictionary(uniqueKeysWithValues: Self.reasons.map { ($0, 0) })
            for (reason, count) in counts { all[reason] = count }
            return all
        }
    }

    func refusals(_ reason: String) -> Int { refusals.withLock { $0[reason, default: 0] } }
}
