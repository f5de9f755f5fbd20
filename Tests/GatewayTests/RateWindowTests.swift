import Testing

@testable import Gateway

/// `events_per_second`: the rate over the samples of the last 10 s, exactly.
@Suite("Rate window of events_per_second")
struct RateWindowTests {
    @Test func theRateIsTheGrowthOverTheSampledSpanAndFallsToZeroWhenIdle() {
        let start = ContinuousClock.now
        var window = RateWindow()
        #expect(window.perSecond == 0)  // no samples
        window.add(total: 100, at: start)
        #expect(window.perSecond == 0)  // one sample: no span yet
        window.add(total: 130, at: start + .seconds(1))
        #expect(window.perSecond == 30)
        window.add(total: 130, at: start + .seconds(2))
        #expect(window.perSecond == 15)  // 30 events over 2 s
        window.add(total: 190, at: start + .seconds(6))
        #expect(window.perSecond == 15)  // 90 over 6 s
        // Samples older than 10 s leave the window: from 2 s (130) to 12 s (190) is 60 over 10 s.
        window.add(total: 190, at: start + .seconds(12))
        #expect(window.perSecond == 6)
        // Idle for a whole window: only equal totals remain.
        window.add(total: 190, at: start + .seconds(17))
        window.add(total: 190, at: start + .seconds(23))
        #expect(window.perSecond == 0)
    }
}
