import ArgumentParser
import Foundation
import RedisClient
import SSEProtocol

/// `ssectl top`: the cluster's gateway nodes in a terminal, read from the node registry and refreshed live.
///
/// Output modes: on a terminal, a table redrawn in place (``TopScreen``); when standard output is not a terminal
/// or with `--plain`, a block of tab-separated lines per refresh (``TopTable/plain``); `--once` prints one block
/// and exits; `--json` prints the snapshot once as JSON. A failed read while running shows its one-line error
/// (in place on the terminal, on standard error in plain mode) and the next refresh tries again; with `--once`
/// or `--json` it exits 1.
struct TopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "Show the gateway nodes (streams, rates, latency, state) live from the node registry.",
        discussion: """
            One row per live node and per node whose key expired within the last minute (down), then the totals. \
            On a terminal the table is redrawn in place (q or Ctrl-C quits); otherwise, or with --plain, each \
            refresh prints a header line, one tab-separated line per node and a total line. Each read waits at most \
            2 s for Redis; a failed one is shown and retried at the next refresh.
            """)

    @OptionGroup var redis: RedisOptions
    @Option(help: "Seconds between refreshes (0.2–60, fractions allowed).") var interval: Double = 1
    @Option(help: "Row order: node (by id), streams, events (per second) or p99 (delivery latency), most first.")
    var sort: TopOrder = .node
    @Flag(help: "Tab-separated lines without ANSI codes (the default when standard output is not a terminal).")
    var plain = false
    @Flag(help: "Print one snapshot and exit.") var once = false
    @Flag(help: "Print the snapshot as JSON (the live nodes' documents and the down nodes) and exit.") var json = false

    func validate() throws {
        guard (0.2...60).contains(interval) else {
            throw ValidationError(
                "--interval \(Self.shown(interval)): expected 0.2 to 60 seconds between refreshes")
        }
    }

    func run() async throws {
        let access = try redis.connect()
        let reader = RegistryReader(runner: access.registry, address: access.control.connector.address)
        if json || once {
            let snapshot: RegistrySnapshot
            do {
                snapshot = try await reader.snapshot()
            } catch {
                FileHandle.standardError.write(Data((Self.failure(error, reader: reader) + "\n").utf8))
                throw ExitCode(1)
            }
            TopScreen.write(json ? TopJSON(snapshot).text + "\n" : TopTable(snapshot, order: sort).plain)
            await access.close()
            return
        }
        let screen = plain || !TopScreen.isTerminal(STDOUT_FILENO) ? nil : TopScreen()
        screen?.start()
        let period = Duration.milliseconds(Int((interval * 1000).rounded()))
        let clock = ContinuousClock()
        var next = clock.now
        var last: TopTable?
        while true {
            do {
                let table = TopTable(try await reader.snapshot(), order: sort)
                last = table
                if let screen { screen.draw(title(reader) + Self.lines(table)) } else { TopScreen.write(table.plain) }
            } catch {
                let message = Self.failure(error, reader: reader)
                if let screen {
                    screen.draw(
                        title(reader) + [.init(message, state: "down"), .init("")]
                            + (last.map { [.init("last read:")] + Self.lines($0) } ?? []))
                } else {
                    FileHandle.standardError.write(Data((message + "\n").utf8))
                }
            }
            next += period
            if next < clock.now { next = clock.now + period }
            try await Task.sleep(until: next, clock: clock)
        }
    }

    /// Seconds as given (`1`, `0.2`), without a trailing `.0`.
    static func shown(_ seconds: Double) -> String { String(format: "%g", seconds) }

    /// The one-line error of a failed read.
    static func failure(_ error: any Error, reader: RegistryReader) -> String {
        "ssectl top: cannot read the node registry at \(reader.address): \(error)"
    }

    private func title(_ reader: RegistryReader) -> [TopScreen.Line] {
        let time = Date().formatted(.dateTime.hour(.twoDigits(amPM: .omitted)).minute(.twoDigits).second(.twoDigits))
        let every = Self.shown(interval)
        return [.init("ssectl top  \(reader.address)  \(time)  every \(every) s  (q or Ctrl-C quits)"), .init("")]
    }

    /// The table's lines, each node's row in its state's colour.
    private static func lines(_ table: TopTable) -> [TopScreen.Line] {
        // Header first, then one line per row, then the rule, the totals and the counts.
        table.aligned.enumerated().map { index, line in
            let row = index - 1
            return TopScreen.Line(line, state: row >= 0 && row < table.states.count ? table.states[row] : nil)
        }
    }
}

/// `ssectl top --json`: `{"v":1,"at_ms":…,"nodes":[<NodeDocument>…],"down":[{"node_id","expired_ms","last_beat_ms"}…]}`,
/// keys sorted, nodes by id. The documents are the registry keys' as stored, with the per-topic presence lists.
struct TopJSON: Encodable {
    struct Down: Encodable {
        var nodeID: String
        var expiredMilliseconds: Int64
        var lastBeatMilliseconds: Int64

        enum CodingKeys: String, CodingKey {
            case nodeID = "node_id"
            case expiredMilliseconds = "expired_ms"
            case lastBeatMilliseconds = "last_beat_ms"
        }
    }

    var formatVersion = 1
    var atMilliseconds: Int64
    var nodes: [NodeDocument]
    var down: [Down]

    enum CodingKeys: String, CodingKey {
        case formatVersion = "v"
        case atMilliseconds = "at_ms"
        case nodes, down
    }

    init(_ snapshot: RegistrySnapshot) {
        atMilliseconds = snapshot.takenMilliseconds
        nodes = snapshot.live
        down = snapshot.down.map {
            Down(
                nodeID: $0.nodeID, expiredMilliseconds: $0.expiredMilliseconds,
                lastBeatMilliseconds: $0.lastBeatMilliseconds)
        }
    }

    var text: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
