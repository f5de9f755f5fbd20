import Foundation

/// The outcome of one `sse-load publish` run, printed as a line for people and one JSON line for scripts.
struct PublishResult: Codable, Sendable {
    var destination: String
    /// Requested events per second; 0 means as fast as possible.
    var rate: Double
    var size: Int
    /// Publisher connections (lanes) used.
    var connections: Int
    var issued: UInt64
    /// Events the server accepted: the count subscribers should each receive.
    var published: UInt64
    var errors: UInt64
    var seconds: Double
    var publishedPerSecond: Double
    var firstError: String?
    var cpuSeconds: Double

    enum CodingKeys: String, CodingKey {
        case destination, rate, size, connections, issued, published, errors, seconds
        case publishedPerSecond = "published_per_second", firstError = "first_error", cpuSeconds = "cpu_seconds"
    }

    init(
        destination: String, rate: Double, size: Int, connections: Int, outcome: PublishOutcome, cpuSeconds: Double
    ) {
        self.destination = destination
        self.connections = connections
        self.rate = rate
        self.size = size
        issued = outcome.issued
        published = outcome.acknowledged
        errors = outcome.errors
        seconds = outcome.seconds
        publishedPerSecond = outcome.seconds > 0 ? Double(outcome.acknowledged) / outcome.seconds : 0
        firstError = outcome.firstError
        self.cpuSeconds = cpuSeconds
    }

    var table: String {
        var text =
            "sse-load publish \(destination) (\(connections) connection(s)): \(published) of \(issued) events accepted in "
            + "\(String(format: "%.2f", seconds)) s (\(String(format: "%.0f", publishedPerSecond))/s), \(errors) errors"
        if let firstError { text += "; first error: \(firstError)" }
        return text
    }

    var jsonLine: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
