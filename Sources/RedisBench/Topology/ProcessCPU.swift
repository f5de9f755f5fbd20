import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// CPU time of the redis-server processes a run started, from `/proc/PID/stat`: what a topology costs Redis per
/// event, measured rather than inferred from throughput.
///
/// `utime + stime` of `/proc/PID/stat` count every thread of the process (Redis' I/O and background threads too).
enum ProcessCPU {
    /// Clock ticks per second (`utime` and `stime` are counted in them; 100 on Linux).
    static let ticksPerSecond = Int(sysconf(Int32(_SC_CLK_TCK)))

    /// `utime + stime` in clock ticks from the text of a `/proc/PID/stat`, nil when it is not one.
    ///
    /// The command name (field 2) is in parentheses and may hold spaces and parentheses, so the fields are counted
    /// after its last `)`: utime and stime are fields 14 and 15 of the line, the 12th and 13th after the name.
    static func ticks(statLine: String) -> Int? {
        guard let close = statLine.lastIndex(of: ")") else { return nil }
        let fields = statLine[statLine.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return user + system
    }

    /// Ticks as microseconds.
    static func microseconds(ticks: Int, ticksPerSecond: Int = ticksPerSecond) -> Double {
        Double(ticks) * 1e6 / Double(ticksPerSecond)
    }

    /// The summed `utime + stime` of `pids` in microseconds now; a process that is gone counts 0.
    static func microseconds(of pids: [pid_t]) -> Double {
        var ticks = 0
        for pid in pids {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { continue }
            ticks += Self.ticks(statLine: text) ?? 0
        }
        return microseconds(ticks: ticks)
    }
}
