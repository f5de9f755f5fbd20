import NIOCore
import SSEProtocol

/// One benchmark stream's state: reads the answer with `SSEResponseReader`'s lean path (no String per event) and
/// records each event's payload in its loop's ``DeliveryTally``.
///
/// Confined to the stream's event loop (the opener keeps it in a `NIOLoopBoundBox`), so its hot stored properties
/// are `@exclusivity(unchecked)`: only the loop touches them, one access at a time. `opened` completes when the head
/// arrives (success only for status 200) or the stream fails first; a stream that ends after it opened, while the
/// run is still going, counts as dropped. The receive time is read once per socket read, so all events of one read
/// share it.
///
/// The first `data:` line of an event that holds a benchmark payload counts; later ones are skipped: the floor server
/// (bench-floor) sends a reliable envelope's header line (`data: \u{1E}sse1 <id> `) before the payload's line.
final class BenchmarkStream {
    private let tally: NIOLoopBound<DeliveryTally>
    let opened: EventLoopPromise<Void>
    @exclusivity(unchecked) private var reader = SSEResponseReader()
    /// The event being read has a `data:` line; `fields` is the first one's payload, if it was one.
    @exclusivity(unchecked) private var hasData = false
    @exclusivity(unchecked) private var fields: Payload.Fields?
    /// Highest payload sequence received on this stream in lane 0 (0 before the first).
    @exclusivity(unchecked) private var lastSequence: UInt64 = 0
    /// The same for lanes 1…, allocated only when a publisher uses several connections.
    @exclusivity(unchecked) private var laneSequences: [UInt64] = []
    /// The head said 200 and the stream has not closed.
    @exclusivity(unchecked) private(set) var isOpen = false
    /// Why the stream must close (a status other than 200, a malformed answer); nothing is counted after it.
    @exclusivity(unchecked) private var failure: LoadError?

    init(tally: NIOLoopBound<DeliveryTally>, opened: EventLoopPromise<Void>) {
        self.tally = tally
        self.opened = opened
    }

    /// Reads one buffer received at `now` (wall-clock nanoseconds); returns why the stream must be closed, if so.
    func read(_ buffer: ByteBuffer, receivedAt now: UInt64) -> LoadError? {
        let tally = self.tally.value
        tally.counts.bytes &+= UInt64(buffer.readableBytes)
        guard failure == nil else { return failure }
        reader.scan(buffer) { piece in
            switch piece {
            case .field(let name, let value):
                guard Self.isData(name) else { return }
                if fields == nil { fields = Payload.parse(value) }
                hasData = true
            case .blank:
                if hasData, isOpen { record(fields, receivedAt: now, in: tally) }
                hasData = false
                fields = nil
            case .comment:
                if isOpen { tally.counts.comments &+= 1 }
            case .head(let status):
                headReceived(status: status)
            }
        }
        if failure == nil, let malformed = reader.malformed { failure = LoadError(malformed) }
        if let failure { opened.fail(failure) }
        return failure
    }

    /// The connection closed (by either side, or failed).
    func closed() {
        if !isOpen {
            opened.fail(failure ?? LoadError("closed before the response head"))
        } else if !tally.value.stopping {
            tally.value.counts.dropped &+= 1
        }
        isOpen = false
    }

    private func headReceived(status: Int) {
        guard status == 200 else {
            failure = LoadError("status \(status)")
            return
        }
        isOpen = true
        opened.succeed(())
    }

    @inline(__always)
    private func record(_ fields: Payload.Fields?, receivedAt now: UInt64, in tally: DeliveryTally) {
        guard let lane = fields?.lane, lane > 0 else {
            return tally.counts.record(fields, receivedAt: now, last: &lastSequence)
        }
        if laneSequences.isEmpty { laneSequences = Array(repeating: 0, count: Payload.maximumLanes) }
        tally.counts.record(fields, receivedAt: now, last: &laneSequences[lane])
    }

    /// The field name is `data`.
    @inline(__always)
    private static func isData(_ name: UnsafeRawBufferPointer) -> Bool {
        name.count == 4 && name[0] == UInt8(ascii: "d") && name[1] == UInt8(ascii: "a") && name[2] == UInt8(ascii: "t")
            && name[3] == UInt8(ascii: "a")
    }
}
