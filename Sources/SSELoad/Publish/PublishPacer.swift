import NIOCore

/// Issues numbered events at a steady rate, or as fast as replies come back, with at most `window` unanswered.
///
/// Confined to the publishing connection's event loop: `send` runs there and its futures complete there. Event
/// `n` is issued at `start + (n − 1) / rate`, so a late tick catches up rather than drifting; with rate 0 each
/// reply lets the next event go. Issuing stops at `count` events, at the deadline, or after 100 failures (a dead
/// connection would otherwise fail events as fast as it can).
final class PublishPacer {
    /// Sends event `sequence`; the future fails when the server refused it.
    typealias Send = (_ sequence: UInt64) -> EventLoopFuture<Void>

    private let eventLoop: any EventLoop
    private let send: Send
    private let count: UInt64
    private let rate: Double
    private let window: Int
    private let duration: TimeAmount
    private var started = NIODeadline.now()
    private var deadline = NIODeadline.now()
    private var issued: UInt64 = 0
    private var acknowledged: UInt64 = 0
    private var errors: UInt64 = 0
    private var firstError: String?
    private var inFlight = 0
    private var issuing = true
    private var timer: Scheduled<Void>?
    private var lastReply = NIODeadline.now()
    private let done: EventLoopPromise<PublishOutcome>

    /// - Parameters:
    ///   - count: events to send; 0 for as many as fit in `duration`.
    ///   - rate: events per second; 0 for as fast as the window allows.
    init(eventLoop: any EventLoop, count: UInt64, rate: Double, window: Int, duration: TimeAmount, send: @escaping Send)
    {
        self.eventLoop = eventLoop
        self.send = send
        self.count = count
        self.rate = rate
        self.window = max(1, window)
        self.duration = duration
        self.done = eventLoop.makePromise()
    }

    /// Starts issuing; completes when issuing has stopped and every sent event has been answered.
    func start() -> EventLoopFuture<PublishOutcome> {
        started = .now()
        deadline = started + duration
        pump()
        return done.futureResult
    }

    private func pump() {
        guard issuing else { return finishIfIdle() }
        let now = NIODeadline.now()
        if now >= deadline || (count > 0 && issued >= count) || errors >= 100 {
            issuing = false
            timer?.cancel()
            return finishIfIdle()
        }
        var allowed = window - inFlight
        var heldByRate = false
        if rate > 0 {
            let due = UInt64(Double((now - started).nanoseconds) / 1e9 * rate) + 1
            let byRate = due > issued ? Int(clamping: due - issued) : 0
            if byRate < allowed {
                allowed = byRate
                heldByRate = true
            }
        }
        if count > 0 { allowed = min(allowed, Int(clamping: count - issued)) }
        for _ in 0..<max(allowed, 0) { issue() }
        // Held back by the rate: wake up when the next event is due. Held back by the window: the next reply
        // pumps (a timer then would fire at once, again and again, while the server is behind).
        if heldByRate, timer == nil {
            let next = started + .nanoseconds(Int64(Double(issued) / rate * 1e9))
            timer = eventLoop.assumeIsolated().scheduleTask(deadline: max(next, now + .microseconds(100))) {
                [self] in
                timer = nil
                pump()
            }
        }
    }

    private func issue() {
        issued += 1
        inFlight += 1
        send(issued).assumeIsolated().whenComplete { [self] result in
            inFlight -= 1
            lastReply = .now()
            switch result {
            case .success: acknowledged += 1
            case .failure(let error):
                errors += 1
                if firstError == nil { firstError = String("\(error)".prefix(200)) }
            }
            pump()
        }
    }

    private func finishIfIdle() {
        guard !issuing, inFlight == 0 else { return }
        let seconds = Double((lastReply - started).nanoseconds) / 1e9
        done.succeed(
            PublishOutcome(
                issued: issued, acknowledged: acknowledged, errors: errors, seconds: seconds, firstError: firstError))
    }
}
