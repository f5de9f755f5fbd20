/// What a pacer achieved.
struct PublishOutcome: Sendable {
    var issued: UInt64
    var acknowledged: UInt64
    var errors: UInt64
    /// From the first event issued to the last reply.
    var seconds: Double
    var firstError: String?

    /// The lanes of one publisher together: counts added, the longest time.
    static func combined(_ outcomes: [PublishOutcome]) -> PublishOutcome {
        PublishOutcome(
            issued: outcomes.reduce(0) { $0 + $1.issued }, acknowledged: outcomes.reduce(0) { $0 + $1.acknowledged },
            errors: outcomes.reduce(0) { $0 + $1.errors }, seconds: outcomes.map(\.seconds).max() ?? 0,
            firstError: outcomes.lazy.compactMap(\.firstError).first)
    }
}
