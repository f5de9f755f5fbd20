import ArgumentParser
import NIOCore
import NIOPosix
import SSEProtocol

/// `ssectl tail URL`: print a stream's events as they arrive, for debugging a stream by hand.
///
/// Plain HTTP only (put TLS in front with nginx). Chunked responses (what nginx sends to HTTP/1.1 clients) are
/// decoded by `SSEResponseReader`, the reader of the test client too. With `--reconnect` it behaves like a browser's EventSource: it waits the
/// `retry:` delay and reconnects with the last id as `Last-Event-ID`.
struct Tail: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the events of an SSE stream as they arrive.",
        discussion: "Example: ssectl tail 'http://127.0.0.1:8080/sse?topic=board&dialect=htmx'")

    @Argument(help: "Stream URL (http://host[:port]/path?query).") var url: String
    @Option(help: "Send this Last-Event-ID on the first request.") var lastEventID: String?
    @Flag(help: "Also print comments (heartbeats, the opening comment) and retry: fields.") var comments = false
    @Flag(help: "Reconnect when the stream ends, with the last id, like EventSource.") var reconnect = false
    @Option(help: "Stop after this many events.") var count: Int?

    func validate() throws {
        _ = try StreamURL(url)
        if let count, count < 1 { throw ValidationError("--count \(count): must be at least 1") }
    }

    func run() async throws {
        let target = try StreamURL(url)
        let printer = TailPrinter(showComments: comments, limit: count)
        var lastID = lastEventID
        var retry = 3000
        while true {
            let outcome = try await TailConnection.run(target, lastEventID: lastID, printer: printer)
            lastID = outcome.lastEventID ?? lastID
            retry = outcome.retry ?? retry
            if printer.isDone { return }
            guard reconnect, outcome.status == 200 else {
                if outcome.status != 200 { throw ExitCode(1) }
                return
            }
            printer.note("stream closed; reconnecting in \(retry) ms with Last-Event-ID \(lastID ?? "(none)")")
            try await Task.sleep(for: .milliseconds(retry))
        }
    }
}

/// The parts of an `http://` URL a stream request needs.
struct StreamURL {
    var host: String
    var port: Int
    var pathAndQuery: String

    init(_ text: String) throws(ValidationError) {
        guard text.hasPrefix("http://") else {
            throw ValidationError("\(text): expected an http:// URL (https is terminated by nginx, not by ssectl)")
        }
        let rest = text.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        var path = String(rest.dropFirst(authority.count))
        if path.isEmpty || path.first == "?" { path = "/" + path }
        var hostPart = Substring(authority)
        var port = 80
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            guard let parsed = Int(authority[authority.index(after: colon)...]), (1...65535).contains(parsed) else {
                throw ValidationError("\(text): the port must be a number from 1 to 65535")
            }
            port = parsed
            hostPart = authority[..<colon]
        }
        if hostPart.hasPrefix("["), hostPart.hasSuffix("]") { hostPart = hostPart.dropFirst().dropLast() }
        guard !hostPart.isEmpty else { throw ValidationError("\(text): the URL has no host") }
        host = String(hostPart)
        self.port = port
        pathAndQuery = path
    }
}
