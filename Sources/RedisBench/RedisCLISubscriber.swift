import LocalRedis
import Synchronization

/// `redis-cli subscribe <channel>` as a reference subscriber peer, counted by the lines it prints.
///
/// With stdout not a terminal redis-cli prints each element of a push on its own line and flushes per push, so the
/// subscribe confirmation is 3 lines (`subscribe`, channel, count) and every message 3 more (`message`, channel,
/// payload). Our payloads contain no newline, so lines map exactly to messages.
final class RedisCLISubscriber: Sendable {
    let tally: MessageTally
    private let child: ChildProcess

    /// Starts redis-cli; its subscription is confirmed once `tally.isSubscribed` is true.
    init(connectionArguments: [String], channel: String) throws {
        let tally = MessageTally()
        let counter = LineCounter()
        self.tally = tally
        child = try ChildProcess(
            RedisBenchmarkTool.locate("redis-cli"), connectionArguments + ["subscribe", channel],
            output: .stream { chunk in counter.consume(chunk, into: tally) })
    }

    /// Stops redis-cli with SIGKILL: it holds no state worth a clean exit.
    func stop() async {
        child.kill()
    }
}

/// Turns redis-cli's output into message counts; used only from the reader thread of one ``ChildProcess``.
private final class LineCounter: Sendable {
    /// Lines of the subscribe confirmation printed before the first message.
    static let confirmationLines = 3
    static let linesPerMessage = 3

    private let lines = Atomic<Int>(0)
    private let messages = Atomic<Int>(0)

    func consume(_ chunk: UnsafeRawBufferPointer, into tally: MessageTally) {
        var newLines = 0
        for byte in chunk where byte == UInt8(ascii: "\n") { newLines += 1 }
        guard newLines > 0 else { return }
        let total = lines.add(newLines, ordering: .relaxed).newValue
        guard total >= Self.confirmationLines else { return }
        tally.markSubscribed()
        let complete = (total - Self.confirmationLines) / Self.linesPerMessage
        let previous = messages.exchange(complete, ordering: .relaxed)
        if complete > previous { tally.record(complete - previous) }
    }
}
