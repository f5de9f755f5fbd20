import Foundation
import LocalRedis
import RedisClient
import Synchronization

/// Runs `redis-benchmark` against the server under test and reads its requests/s: the reference we compare with.
///
/// redis-benchmark is single-threaded: one epoll loop drives all `-c` clients, each sending `-P` commands and
/// waiting for every reply before the next batch. Our publisher (``PublishBenchmark``) mirrors that shape.
struct RedisBenchmarkTool: Sendable {
    /// `-h/-p` or `-s`, plus credentials and database, shared with redis-cli (same flags).
    let connectionArguments: [String]

    init(configuration: RedisConfiguration) {
        connectionArguments = Self.arguments(for: configuration)
    }

    /// Publishes `settings.requests` messages to `channel` and returns redis-benchmark's requests/s.
    func publish(channel: String, settings: BenchmarkSettings) async throws -> Double {
        let arguments =
            connectionArguments + [
                "-c", String(settings.connections), "-P", String(settings.pipeline), "-n", String(settings.requests),
                "-q", "PUBLISH", channel, settings.payloadText,
            ]
        let output = Mutex<[UInt8]>([])
        let child = try ChildProcess(
            Self.locate("redis-benchmark"), arguments,
            output: .stream { chunk in output.withLock { $0.append(contentsOf: chunk) } })
        guard let status = await child.exit(within: settings.phaseTimeout) else {
            child.kill()
            throw BenchmarkError.timedOut(phase: "redis-benchmark PUBLISH \(channel)", limit: settings.phaseTimeout)
        }
        let text = output.withLock { String(decoding: $0, as: UTF8.self) }
        guard status == 0 else {
            throw BenchmarkError.toolFailed(tool: "redis-benchmark", status: status, output: text)
        }
        return try Self.requestsPerSecond(in: text)
    }

    /// The final figure of `-q` output, e.g. `PUBLISH benchchan abc: 763358.81 requests per second, p50=0.159 msec`.
    ///
    /// Progress lines (`rps=… (overall: …)`) come before it separated by carriage returns and are skipped.
    static func requestsPerSecond(in output: String) throws -> Double {
        let marker = " requests per second"
        let lines = output.split(whereSeparator: { $0 == "\r" || $0 == "\n" })
        for line in lines.reversed() {
            guard let range = line.range(of: marker) else { continue }
            let before = line[..<range.lowerBound]
            let number = before.split(separator: " ").last.map(String.init) ?? ""
            if let value = Double(number), value > 0 { return value }
        }
        throw BenchmarkError.unparsableOutput(tool: "redis-benchmark", output: output)
    }

    /// The redis tool called `name` on `PATH`.
    static func locate(_ name: String) throws -> String {
        do {
            return try ChildProcess.locate(name)
        } catch {
            throw BenchmarkError.toolNotFound(name)
        }
    }

    /// Command-line flags that point redis-benchmark or redis-cli at `configuration`.
    static func arguments(for configuration: RedisConfiguration) -> [String] {
        var arguments: [String]
        switch configuration.endpoint {
        case .tcp(let host, let port): arguments = ["-h", host, "-p", String(port)]
        case .unix(let path): arguments = ["-s", path]
        }
        if let username = configuration.username { arguments += ["--user", username] }
        // Pub/sub channels span all databases, so the database number is not passed on. The password warning
        // both tools print goes to stderr, which is discarded.
        if let password = configuration.password { arguments += ["-a", password] }
        return arguments
    }
}
