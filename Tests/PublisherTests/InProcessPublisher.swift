import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LocalRedis
import Logging
import NIOCore
import RedisClient
import SSETestSupport
import Testing

@testable import Publisher

/// The publisher's own application (``PublisherApplication``, what `sse-publisher` serves) driven in process through
/// HummingbirdTesting's router framework: each request goes straight to the responder, with no server, socket or
/// process. For tests that check one HTTP answer (status, headers, body); what needs the HTTP/1 server itself
/// (`Host` rules, deadlines, body bounds ahead of the handler, raw bytes) stays with ``PublisherProcess``.
struct InProcessPublisher: Sendable {
    /// What the router answered, read the way the process tests read ``HTTPProbe/Response``.
    struct Reply: Sendable {
        let response: TestResponse
        var status: Int { response.status.code }
        var body: String { String(buffer: response.body) }
        func header(_ name: String) -> String? { HTTPField.Name(name).flatMap { response.headers[$0] } }
    }

    /// A Redis URL nothing listens on (port 1 on loopback): for requests the publisher answers without Redis.
    static let unreachableRedisURL = "redis://127.0.0.1:1"

    let client: any TestClientProtocol

    /// Runs `body` against a publisher built from `configuration`; its Redis connections are closed afterwards.
    /// With `installLibraries` the `sse` and `board` function libraries are loaded first (what ``LibraryWatch``
    /// does at start in the executable), for requests that store or publish.
    static func with<T: Sendable>(
        _ configuration: PublisherConfiguration, installLibraries: Bool = false,
        _ body: @Sendable (InProcessPublisher) async throws -> T
    ) async throws -> T {
        var logger = Logger(label: "sse-publisher.test")
        logger.logLevel = .warning
        let publisher = try await PublisherApplication(configuration: configuration, logger: logger)
        do {
            if installLibraries { try await publisher.store.install() }
            publisher.start()
            let result = try await publisher.app.test(.router) { client in
                try await body(InProcessPublisher(client: client))
            }
            await publisher.close()
            return result
        } catch {
            await publisher.close()
            throw error
        }
    }

    /// The configuration the process stacks use: `redisURL`, and the publish API enabled with ``BoardStack/token``
    /// unless `token` is nil. The Redis timeout is raised from its 2 s default: these tests check answers, not
    /// deadlines, and the first `FUNCTION LOAD` of a fresh server can take longer while the whole suite runs.
    static func configuration(redisURL: String, token: String? = BoardStack.token) -> PublisherConfiguration {
        var configuration = PublisherConfiguration()
        configuration.redisURL = redisURL
        configuration.publishToken = token
        configuration.redisTimeoutSeconds = 15
        return configuration
    }

    /// `method path` with `headers` and `body` (sent with its `Content-Length`, as ``PublisherProcess/send``).
    func send(
        _ method: String, _ path: String, headers: [(String, String)] = [], body: String = ""
    ) async throws -> Reply {
        let method = try #require(HTTPRequest.Method(method))
        var fields = HTTPFields()
        for (name, value) in headers {
            fields.append(HTTPField(name: try #require(HTTPField.Name(name)), value: value))
        }
        return Reply(
            response: try await client.execute(
                uri: path, method: method, headers: fields, body: ByteBuffer(string: body)))
    }

    /// `GET path` without a body, as ``HTTPProbe/get(port:path:)``.
    func get(_ path: String) async throws -> Reply {
        Reply(response: try await client.execute(uri: path, method: .get))
    }

    /// `POST path` with a form-encoded body built from `fields`, as ``PublisherProcess/postForm(_:_:headers:)``.
    func postForm(_ path: String, _ fields: [(String, String)], headers: [(String, String)] = []) async throws
        -> Reply
    {
        let body = fields.map { "\(PublisherProcess.formEncoded($0.0))=\(PublisherProcess.formEncoded($0.1))" }
            .joined(separator: "&")
        return try await send(
            "POST", path, headers: [("Content-Type", "application/x-www-form-urlencoded")] + headers, body: body)
    }
}

/// One real redis-server and the publisher's application in process on it (no publisher or gateway process), plus
/// a Redis connection to inspect the model: for answers that store, publish or must be shown to store nothing.
struct InProcessBoard: Sendable {
    let publisher: InProcessPublisher
    let connection: RedisConnection

    /// Runs `body` with a fresh redis-server, stopped afterwards, also when `body` throws.
    static func with<T: Sendable>(
        token: String? = BoardStack.token, _ body: @Sendable (InProcessBoard) async throws -> T
    ) async throws -> T {
        try await withLocalRedis { redis in
            let connection = try await RedisConnection.connect(configuration: redis.configuration)
            defer { connection.closeNow() }
            return try await InProcessPublisher.with(
                InProcessPublisher.configuration(redisURL: redis.url, token: token), installLibraries: true
            ) { publisher in
                try await body(InProcessBoard(publisher: publisher, connection: connection))
            }
        }
    }

    /// `HGETALL board:{board}:stats` as a dictionary.
    func stats() async throws -> [String: String] { try await connection.boardStats() }

    /// The board topic's history: (id, data) in order.
    func history() async throws -> [(id: String, data: String)] { try await connection.boardHistory() }
}
