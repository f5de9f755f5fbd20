/// Polls `condition` every `interval` (a few milliseconds by default) until it holds, or throws ``TimedOut`` naming
/// what was awaited. A bounded wait for a state (for tests and scripts), not a sleep that hopes something happened.
public func waitUntil(
    _ what: @autoclosure () -> String, timeout: Duration = .seconds(10), every interval: Duration = .milliseconds(5),
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: interval)
    }
    if try await condition() { return }
    throw TimedOut(what: what(), timeout: timeout)
}

public struct TimedOut: Error, CustomStringConvertible {
    public var what: String
    public var timeout: Duration
    public var description: String { "timed out after \(timeout) waiting for \(what)" }

    public init(what: String, timeout: Duration) {
        self.what = what
        self.timeout = timeout
    }
}
