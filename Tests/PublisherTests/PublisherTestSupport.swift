import Foundation
import LocalRedis
import RedisClient
import SSETestSupport
import Testing

/// A real redis-server, sse-gateway and sse-publisher for one test, plus a Redis connection to inspect the model.
struct BoardStack: Sendable {
    let redis: LocalRedisServer
    let gateway: GatewayProcess
    let publisher: PublisherProcess
    let connection: RedisConnection

    /// The token the stack's publisher is started with (through `SSE_PUBLISH_TOKEN`).
    static let token = "test-token-7f3a9c"

    /// Runs `body` with a fresh stack and stops everything afterwards, also when `body` throws.
    static func with<T: Sendable>(
        publisherArguments: [String] = [], publisherEnvironment: [String: String] = ["SSE_PUBLISH_TOKEN": token],
        _ body: (BoardStack) async throws -> T
    ) async throws -> T {
        try await withLocalRedis { redis in
            let gateway = try await GatewayProcess.start(redis: redis)
            let publisher = try await PublisherProcess.start(
                redis: redis, arguments: publisherArguments, environment: publisherEnvironment)
            let connection = try await RedisConnection.connect(configuration: redis.configuration)
            defer { connection.closeNow() }
            return try await body(
                BoardStack(redis: redis, gateway: gateway, publisher: publisher, connection: connection))
        }
    }

    /// An engine-dialect stream of the board topic on the gateway, connected (every later publish reaches it).
    func openBoardStream() async throws -> SSETestClient {
        let client = try await SSETestClient.open(port: gateway.port, path: "/sse?topic=board&dialect=engine")
        try await client.waitUntilConnected()
        return client
    }

    /// The stored posts, newest first, as JSON objects.
    func storedPosts() async throws -> [[String: Any]] {
        let reply = try await connection.send("LRANGE", "board:{board}:posts", 0, -1)
        return try (reply.array ?? []).map { entry in
            try JSONSerialization.jsonObject(with: Data((entry.string ?? "").utf8)) as? [String: Any] ?? [:]
        }
    }

    /// `HGETALL board:{board}:stats` as a dictionary.
    func stats() async throws -> [String: String] { try await connection.boardStats() }

    /// The board topic's history: (id, data) in order.
    func history() async throws -> [(id: String, data: String)] { try await connection.boardHistory() }
}

extension RedisConnection {
    /// `HGETALL board:{board}:stats` as a dictionary.
    func boardStats() async throws -> [String: String] {
        let fields = try await send("HGETALL", "board:{board}:stats").array ?? []
        var result: [String: String] = [:]
        for index in stride(from: 0, to: fields.count - 1, by: 2) {
            result[fields[index].string ?? ""] = fields[index + 1].string ?? ""
        }
        return result
    }

    /// The board topic's history: (id, data) in order.
    func boardHistory() async throws -> [(id: String, data: String)] {
        let entries = try await send("XRANGE", "sse:{board}:history", "-", "+").array ?? []
        return entries.map { entry in
            let parts = entry.array ?? []
            let fields = parts.count > 1 ? parts[1].array ?? [] : []
            let data =
                stride(from: 0, to: fields.count - 1, by: 2).first { fields[$0].string == "d" }
                .map { fields[$0 + 1].string ?? "" } ?? ""
            return (parts.first?.string ?? "", data)
        }
    }
}

/// What the page shows for a post, written out independently of the service's templates and time formatting.
enum ExpectedBoard {
    /// `<li class="post" id="post-N">…</li>` with `author` and `text` already HTML-escaped by the caller.
    static func postItem(version: Int, escapedAuthor: String, escapedText: String, milliseconds: Int64) -> String {
        let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss'Z'"
        let iso = formatter.string(from: date)
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        let text = formatter.string(from: date)
        return "<li class=\"post\" id=\"post-\(version)\"><p class=\"meta\"><strong class=\"author\">\(escapedAuthor)"
            + "</strong> <time datetime=\"\(iso)\">\(text)</time></p><p class=\"text\">\(escapedText)</p></li>"
    }

    /// The text as a JSON string literal, escaped the way the service's patches escape (`"`, `\`, controls).
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// The body after the opening `: connected to …` comment, as received.
func framesAfterOpening(_ client: SSETestClient) -> String {
    let text = String(decoding: client.body, as: UTF8.self)
    guard let range = text.range(of: ": connected to ") else { return text }
    let rest = text[range.upperBound...]
    guard let end = rest.range(of: "\n\n") else { return "" }
    return String(rest[end.upperBound...])
}
