import Foundation
import LocalRedis

#if canImport(Glibc)
    import Glibc
#endif

/// The machine and versions a run measured on: markdown list lines for the document.
enum SuiteMachine {
    static func describe(in workspace: SuiteWorkspace) async -> String {
        let cpu = firstValue(in: "/proc/cpuinfo", key: "model name") ?? "?"
        let cores = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        let memory =
            (Double(firstValue(in: "/proc/meminfo", key: "MemTotal")?.split(separator: " ").first ?? "") ?? 0)
            / 1_048_576
        var name = utsname()
        uname(&name)
        let kernel = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let debian = ProcessStats.read("/etc/debian_version")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let swift = await output(of: "swift", ["--version"]).split(separator: "\n").first.map(String.init) ?? "swift ?"
        let nginx = await output(of: "nginx", ["-v"]).replacingOccurrences(of: "nginx version: ", with: "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let nchan = await output(of: "dpkg-query", ["-W", "-f=${Version}", "libnginx-mod-nchan"])
        let redis = await output(of: "redis-server", ["--version"]).split(separator: " ").prefix(3).joined(
            separator: " ")
        let load = ProcessStats.read("/proc/loadavg")?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
        return """
            - CPU: \(cpu), \(cores) cores visible, shared by every process of the run
            - Memory: \(String(format: "%.1f", memory)) GiB; kernel \(kernel); Debian \(debian)
            - Open-file limit per process: \(limit.rlim_cur) soft, \(limit.rlim_max) hard (cannot be raised here)
            - \(swift)
            - \(nginx), libnginx-mod-nchan \(nchan), \(redis)
            - Load average when the run started: \(load) (other builds may share the machine)
            """
    }

    /// `2026-12-01 10:32 UTC`.
    static func timestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return formatter.string(from: date)
    }

    private static func firstValue(in path: String, key: String) -> String? {
        for line in (ProcessStats.read(path) ?? "").split(separator: "\n") where line.hasPrefix(key) {
            return line.split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    /// What a version command printed (output and error together), or "?".
    private static func output(of name: String, _ arguments: [String]) async -> String {
        let path = NSTemporaryDirectory() + "/sse-bench-version-\(getpid())-\(name)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        guard let executable = try? ChildProcess.locate(name),
            let child = try? ChildProcess(executable, arguments, output: .file(path)),
            await child.exit(within: .seconds(20)) == 0
        else { return "?" }
        return ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "?").trimmingCharacters(
            in: .whitespacesAndNewlines)
    }
}
