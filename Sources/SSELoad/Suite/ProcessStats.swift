import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What the suite reads about processes and the machine from `/proc`: CPU time, resident size, children, listening
/// sockets. Only processes the suite started are looked at.
enum ProcessStats {
    /// Clock ticks per second (`utime`, `stime` and `/proc/stat` are counted in them).
    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// `utime + stime` of the processes, in seconds (a process that is gone counts 0).
    static func cpuSeconds(_ pids: [pid_t]) -> Double {
        var ticks = 0.0
        for pid in pids {
            guard let stat = read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { continue }
            // The command name (field 2) may hold spaces: split after its closing parenthesis; utime and stime are
            // fields 14 and 15, so 12th and 13th after it.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { continue }
            ticks += user + system
        }
        return ticks / ticksPerSecond
    }

    /// Sum of `VmRSS` of the processes, KB.
    static func residentKB(_ pids: [pid_t]) -> Double {
        var total = 0.0
        for pid in pids {
            guard let status = read("/proc/\(pid)/status") else { continue }
            for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
                total += Double(line.split(separator: " ").dropFirst().first ?? "") ?? 0
            }
        }
        return total
    }

    /// Open descriptors of a process (entries of `/proc/PID/fd`).
    static func openFiles(_ pid: pid_t) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
    }

    /// Busy seconds of the whole machine: all CPUs, every process and the kernel's interrupt work.
    static func machineBusySeconds() -> Double {
        guard let stat = read("/proc/stat"),
            let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") })
        else { return 0 }
        let fields = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard fields.count >= 8 else { return 0 }
        // user nice system (idle) (iowait) irq softirq steal
        return (fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]) / ticksPerSecond
    }

    /// The direct children of `parent` (nginx's workers), from the parent field of every `/proc/PID/stat`.
    static func children(of parent: pid_t) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { pid_t($0) }.filter { pid in
            guard let stat = read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && pid_t(fields[1]) == parent
        }.sorted()
    }

    /// Whether `pid` (or one of its children) holds the listening TCP socket on `port`: a readiness check that
    /// cannot be fooled by another program that took the port first.
    static func listens(_ pid: pid_t, on port: Int) -> Bool {
        let hexPort = String(format: ":%04X", port)
        var inodes = Set<String>()
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            for line in (read(table) ?? "").split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                // local_address is field 1, st (0A = LISTEN) field 3, inode field 9.
                guard fields.count > 9, fields[1].hasSuffix(hexPort), fields[3] == "0A" else { continue }
                inodes.insert("socket:[\(fields[9])]")
            }
        }
        guard !inodes.isEmpty else { return false }
        for owner in [pid] + children(of: pid) {
            let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(owner)/fd")) ?? []
            for descriptor in descriptors {
                let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(owner)/fd/\(descriptor)")
                if let link, inodes.contains(link) { return true }
            }
        }
        return false
    }

    /// A `/proc` file read to its end (procfs reports size 0, so not one buffer's worth).
    static func read(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        return String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
    }
}
