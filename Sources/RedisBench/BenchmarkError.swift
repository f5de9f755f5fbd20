/// Why a benchmark phase could not produce a trustworthy number; each case says what was expected and what was found.
enum BenchmarkError: Error, CustomStringConvertible {
    case toolNotFound(String)
    case toolFailed(tool: String, status: Int32, output: String)
    case unparsableOutput(tool: String, output: String)
    case timedOut(phase: String, limit: Duration)
    case errorReplies(count: Int, expected: Int, sample: String)
    case subscriberNotReady(peer: String, limit: Duration)
    case unsupportedEndpoint(String)

    var description: String {
        switch self {
        case .toolNotFound(let name):
            return "\(name) not found on PATH (install Debian's redis-tools)"
        case .toolFailed(let tool, let status, let output):
            return "\(tool) exited with status \(status), expected 0; its output ended with:\n\(output.suffix(1000))"
        case .unparsableOutput(let tool, let output):
            return "expected \"<number> requests per second\" in \(tool)'s output, found:\n\(output.suffix(1000))"
        case .timedOut(let phase, let limit):
            return "\(phase) did not finish within \(limit); raise --phase-timeout or lower --requests"
        case .errorReplies(let count, let expected, let sample):
            return "expected \(expected) integer replies to PUBLISH, found \(count) other replies, e.g. \(sample)"
        case .subscriberNotReady(let peer, let limit):
            return "\(peer) did not confirm its subscription within \(limit)"
        case .unsupportedEndpoint(let reason):
            return reason
        }
    }
}
