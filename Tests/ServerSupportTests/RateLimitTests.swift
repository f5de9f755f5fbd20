import ServerSupport
import Testing

/// Token buckets and the bounded per-address table, on a clock the test moves: no sleeping, exact figures.
@Suite("Token buckets and the per-address rate table")
struct RateLimitTests {
    let start = ContinuousClock.now

    func at(_ seconds: Double) -> ContinuousClock.Instant { start + .seconds(seconds) }

    @Test func aBucketAdmitsItsBurstThenOneRequestPerRefill() {
        let rate = TokenBucket.Rate(perSecond: 2, burst: 3)
        var bucket = TokenBucket(rate, now: at(0))
        #expect((0..<3).map { _ in bucket.take(rate, now: at(0)) } == [nil, nil, nil])
        #expect(bucket.take(rate, now: at(0)) == .milliseconds(500))
        #expect(bucket.take(rate, now: at(0.25)) == .milliseconds(250))
        #expect(bucket.take(rate, now: at(0.5)) == nil)
        #expect(bucket.take(rate, now: at(0.5)) == .milliseconds(500))
        #expect(!bucket.isFull(rate, now: at(1.99)))
        #expect(bucket.isFull(rate, now: at(2.0)))
        // A long quiet spell refills to the burst, never beyond it.
        #expect((0..<4).map { _ in bucket.take(rate, now: at(100)) != nil } == [false, false, false, true])
    }

    @Test func aRefusedRequestTakesNoToken() {
        let rate = TokenBucket.Rate.perMinute(6, burst: 1)
        var bucket = TokenBucket(rate, now: at(0))
        #expect(bucket.take(rate, now: at(0)) == nil)
        for second in 1...9 { #expect(bucket.take(rate, now: at(Double(second))) != nil) }
        #expect(bucket.take(rate, now: at(10)) == nil, "one token after 10 s at 6 a minute, refusals or not")
    }

    @Test(arguments: [
        (Duration.zero, 1), (.milliseconds(1), 1), (.seconds(1), 1), (.milliseconds(1001), 2), (.seconds(5), 5),
        (.milliseconds(4200), 5),
    ])
    func retryAfterIsWholeSecondsRoundedUpAndAtLeastOne(wait: Duration, seconds: Int) {
        #expect(wait.retryAfterSeconds == seconds)
    }

    @Test func eachAddressHasItsOwnBucket() throws {
        let limiter = ClientRateLimiter(rate: .init(perSecond: 1, burst: 2))
        let one = try #require(ClientAddress("192.0.2.1"))
        let two = try #require(ClientAddress("2001:db8::2"))
        #expect(limiter.admit(one, now: at(0)) == nil)
        #expect(limiter.admit(one, now: at(0)) == nil)
        #expect(limiter.admit(one, now: at(0.25)) == .init(retryAfter: .milliseconds(750)))
        #expect(limiter.admit(two, now: at(0.25)) == nil)
        #expect(limiter.admit(one, now: at(1)) == nil)
        #expect(limiter.trackedAddresses == 2)
    }

    @Test func anUnlimitedRateAdmitsEverythingAndKeepsNoEntries() throws {
        let limiter = ClientRateLimiter(rate: .init(perSecond: 0, burst: 0))
        let one = try #require(ClientAddress("192.0.2.1"))
        for _ in 0..<1000 { #expect(limiter.admit(one, now: at(0)) == nil) }
        #expect(limiter.trackedAddresses == 0)
    }

    /// At its capacity the table drops the buckets that refilled (at most one sweep a second); when all are still
    /// busy, a new address is admitted without a bucket, and the busy ones keep their limits.
    @Test func theTableStaysWithinItsCapacityUnderManyAddresses() throws {
        let rate = TokenBucket.Rate(perSecond: 1, burst: 2)
        let limiter = ClientRateLimiter(rate: rate, capacity: 4)
        func address(_ number: Int) -> ClientAddress { ClientAddress(bits: 0x2001_0db8 << 96 | UInt128(number)) }

        // Four addresses spend their burst at 0 s: the table is full of busy buckets.
        for number in 0..<4 {
            #expect(limiter.admit(address(number), now: at(0)) == nil)
            #expect(limiter.admit(address(number), now: at(0)) == nil)
        }
        #expect(limiter.trackedAddresses == 4)
        // A fifth at 0.5 s: the sweep finds nothing refilled (a bucket needs 2 s), so it is admitted untracked,
        // any number of times.
        for _ in 0..<3 { #expect(limiter.admit(address(4), now: at(0.5)) == nil) }
        #expect(limiter.trackedAddresses == 4)
        #expect(limiter.untrackedAdmissions == 3)
        // The busy addresses are still limited.
        #expect(limiter.admit(address(0), now: at(0.5)) == .init(retryAfter: .milliseconds(500)))

        // 1.2 s: less than a second since the sweep at 0.5 s, so none. 1.6 s: a sweep, but nothing is full yet.
        #expect(limiter.admit(address(5), now: at(1.2)) == nil)
        #expect(limiter.admit(address(6), now: at(1.6)) == nil)
        #expect(limiter.untrackedAdmissions == 5)
        // 2.0 s: every bucket is full again; address 0 takes a token, so its bucket is busy once more.
        #expect(limiter.admit(address(0), now: at(2.0)) == nil)
        // 2.3 s: too soon after the sweep at 1.6 s. 2.7 s: the sweep drops the full buckets of 1–3, keeps address 0
        // (1.7 tokens of 2), and 8 gets a bucket.
        #expect(limiter.admit(address(7), now: at(2.3)) == nil)
        #expect(limiter.untrackedAdmissions == 6)
        #expect(limiter.trackedAddresses == 4)
        #expect(limiter.admit(address(8), now: at(2.7)) == nil)
        #expect(limiter.untrackedAdmissions == 6)
        #expect(limiter.trackedAddresses == 2)
        #expect(limiter.admit(address(8), now: at(2.7)) == nil)
        #expect(limiter.admit(address(8), now: at(2.7)) != nil, "8 has a bucket of its own now")
    }
}
