import HTTPTypes
import NIOCore
import ServerSupport

/// The query of `GET /sse-health`: `top=N` (how many connections to list, 1–1000, default 20) and
/// `order=age|idle|unsent|events` (default `unsent`: the connections closest to a slow-consumer cut first).
struct HealthQuery: Equatable {
    static let defaultTop = 20
    /// The most connections one answer lists: each costs its loop a description (and the answer ~300 bytes).
    static let maxTop = 1000

    var top = defaultTop
    var order = HealthOrder.unsent

    /// - Throws: ``HTTPFailure`` 400 naming the parameter, e.g. `top "0" is invalid: expected 1 to 1000`.
    init(_ query: QueryString) throws(HTTPFailure) {
        if let text = query.first("top") {
            guard let value = Int(text), (1...Self.maxTop).contains(value) else {
                throw HTTPFailure(
                    .badRequest, "top \(HTTPFailure.quoted(text)) is invalid: expected 1 to \(Self.maxTop)")
            }
            top = value
        }
        if let text = query.first("order") {
            guard let value = HealthOrder(rawValue: text) else {
                let names = HealthOrder.allCases.map(\.rawValue).joined(separator: ", ")
                throw HTTPFailure(.badRequest, "order \(HTTPFailure.quoted(text)) is invalid: use \(names)")
            }
            order = value
        }
    }
}

/// Asks every loop for its part of `/sse-health` and merges the answers, waiting at most ``timeout``: a loop that
/// has not answered by then (busy fanning out a burst) is left out and counted in `loops` but not `loops_answered`,
/// so a health check never waits on the node it is checking.
enum HealthGathering {
    static let timeout = TimeAmount.seconds(1)

    /// Completes on `eventLoop` (the requesting connection's) with the report.
    static func gather(
        fanout: Fanout, nodeID: String, query: HealthQuery, on eventLoop: any EventLoop
    ) -> EventLoopFuture<HealthReport> {
        let promise = eventLoop.makePromise(of: HealthReport.self)
        let loops = fanout.loops
        let state = NIOLoopBoundBox(Gathered(pending: loops.count), eventLoop: eventLoop)
        let finish = { @Sendable in
            let gathered = state.value
            guard !gathered.done else { return }
            gathered.done = true
            promise.succeed(
                LoopHealth.report(
                    gathered.answers, loops: loops.count, nodeID: nodeID, order: query.order, top: query.top))
        }
        let timer = eventLoop.scheduleTask(in: timeout) { finish() }
        for box in loops {
            box.eventLoop.submit { box.value.health(order: query.order, top: query.top) }
                .hop(to: eventLoop).whenSuccess { answer in
                    let gathered = state.value
                    guard !gathered.done else { return }
                    gathered.answers.append(answer)
                    gathered.pending -= 1
                    if gathered.pending == 0 {
                        timer.cancel()
                        finish()
                    }
                }
        }
        if loops.isEmpty {
            timer.cancel()
            finish()
        }
        return promise.futureResult
    }

    /// The answers so far, confined to the requesting connection's loop.
    private final class Gathered {
        var answers: [LoopHealth] = []
        var pending: Int
        var done = false
        init(pending: Int) { self.pending = pending }
    }
}
