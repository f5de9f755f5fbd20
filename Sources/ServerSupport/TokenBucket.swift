/// A token bucket: up to ``Rate/burst`` requests at once, then one per `1 / perSecond` seconds.
///
/// A bucket holds at most `burst` tokens, refilled continuously at `perSecond`; each admitted request takes one. So a
/// client that was quiet may make `burst` requests at once (a page opening its streams, a node's clients coming
/// back after a restart), and a client that keeps asking gets `perSecond` on average, never more. Time is passed in
/// (`now`), never read here, so tests drive it without sleeping.
public struct TokenBucket: Sendable, Equatable {
    /// What a bucket allows: a sustained rate and a burst.
    public struct Rate: Sendable, Equatable, CustomStringConvertible {
        /// Tokens added per second; 0 or less means no limit.
        public var perSecond: Double
        /// Tokens a full bucket holds: requests admitted at once after a quiet spell (at least 1 when limited).
        public var burst: Int

        public init(perSecond: Double, burst: Int) {
            self.perSecond = perSecond
            self.burst = burst
        }

        /// `perMinute` requests a minute, `burst` at once.
        public static func perMinute(_ perMinute: Double, burst: Int) -> Rate {
            Rate(perSecond: perMinute / 60, burst: burst)
        }

        public var isLimited: Bool { perSecond > 0 }

        public var description: String { "\(perSecond)/s burst \(burst)" }
    }

    /// Tokens held at ``updated``; fractional, refilled lazily when the bucket is next used.
    public private(set) var tokens: Double
    public private(set) var updated: ContinuousClock.Instant

    /// A full bucket.
    public init(_ rate: Rate, now: ContinuousClock.Instant) {
        tokens = Double(rate.burst)
        updated = now
    }

    /// Takes a token if there is one. Returns nil when admitted, else how long until a token is there.
    public mutating func take(_ rate: Rate, now: ContinuousClock.Instant) -> Duration? {
        refill(rate, now: now)
        // A token refilled in several steps may sum to 0.999…: the tolerance keeps the rate what it says.
        if tokens >= 1 - 1e-9 {
            tokens = max(0, tokens - 1)
            return nil
        }
        return .seconds((1 - tokens) / rate.perSecond)
    }

    /// The bucket holds `burst` tokens again by `now`: forgetting it changes nothing.
    public func isFull(_ rate: Rate, now: ContinuousClock.Instant) -> Bool {
        var copy = self
        copy.refill(rate, now: now)
        return copy.tokens >= Double(rate.burst) - 1e-9
    }

    private mutating func refill(_ rate: Rate, now: ContinuousClock.Instant) {
        guard now > updated else { return }
        let elapsed = now - updated
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        tokens = min(Double(rate.burst), tokens + seconds * rate.perSecond)
        updated = now
    }
}

extension Duration {
    /// Whole seconds for a `Retry-After` header: rounded up, at least 1 (a `0` invites an immediate retry).
    public var retryAfterSeconds: Int {
        let (seconds, attoseconds) = components
        return max(1, Int(seconds) + (attoseconds > 0 ? 1 : 0))
    }
}
