/// Counts of latencies in log-linear buckets: exact below 128 µs, then 64 buckets per power of two, so any
/// reported value is within 1/64 (1.6 %) of the true one. Memory is fixed (about 16 KB), whatever the count.
///
/// One histogram per event loop records without locks; they are merged at the end, and across processes through
/// their sparse form (``sparse``) in the JSON result.
struct LatencyHistogram: Sendable {
    /// Largest recordable value, in microseconds (about 19 hours); longer latencies are clamped to it.
    static let maximumValue: UInt64 = (1 << 36) - 1
    static let bucketCount = index(of: maximumValue) + 1

    private(set) var counts: [UInt64]
    private(set) var total: UInt64 = 0
    /// Largest value recorded, in microseconds (exact, not bucketed).
    private(set) var maximum: UInt64 = 0

    init() {
        counts = Array(repeating: 0, count: Self.bucketCount)
    }

    /// Rebuilds a histogram from ``sparse`` pairs `[bucket, count]`.
    init(sparse: [[UInt64]], maximum: UInt64) {
        self.init()
        for pair in sparse where pair.count == 2 && pair[0] < UInt64(Self.bucketCount) {
            counts[Int(pair[0])] += pair[1]
            total += pair[1]
        }
        self.maximum = maximum
    }

    @inline(__always)
    mutating func record(microseconds value: UInt64) {
        let clamped = min(value, Self.maximumValue)
        counts[Self.index(of: clamped)] &+= 1
        total &+= 1
        if clamped > maximum { maximum = clamped }
    }

    mutating func merge(_ other: LatencyHistogram) {
        for index in other.counts.indices where other.counts[index] != 0 { counts[index] += other.counts[index] }
        total += other.total
        maximum = max(maximum, other.maximum)
    }

    /// The value at or below which `fraction` (0–1) of the recordings fall, in microseconds: the top of that
    /// bucket, never above the exact maximum; nil when nothing was recorded.
    func value(atFraction fraction: Double) -> UInt64? {
        guard total > 0 else { return nil }
        let rank = max(1, UInt64((fraction * Double(total)).rounded(.up)))
        var seen: UInt64 = 0
        for index in counts.indices {
            seen += counts[index]
            if seen >= rank { return min(Self.lowerBound(of: index + 1) - 1, maximum) }
        }
        return maximum
    }

    /// Non-empty buckets as `[bucket, count]` pairs, for the JSON result.
    var sparse: [[UInt64]] {
        counts.indices.filter { counts[$0] != 0 }.map { [UInt64($0), counts[$0]] }
    }

    @inline(__always)
    static func index(of value: UInt64) -> Int {
        guard value >= 128 else { return Int(value) }
        let shift = (63 - value.leadingZeroBitCount) - 6
        return (shift + 1) * 64 + Int((value >> UInt64(shift)) - 64)
    }

    static func lowerBound(of index: Int) -> UInt64 {
        guard index >= 128 else { return UInt64(index) }
        let shift = index / 64 - 1
        return UInt64(index % 64 + 64) << UInt64(shift)
    }
}
