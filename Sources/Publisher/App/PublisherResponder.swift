import HTTPTypes
import Hummingbird
import Logging
import RedisClient

/// Routes each request to its handler and turns every failure into a one-line answer.
///
/// A hand-written table rather than Hummingbird's `Router` for two reasons: a known path with the wrong method
/// gets 405 with `Allow` (the router answers 404), and unknown paths get a one-line 404 that says where to go,
/// the same conventions as the gateway. Every `GET` route also answers `HEAD` (headers only).
struct PublisherResponder: HTTPResponder {
    typealias Context = BasicRequestContext
    typealias Handler = @Sendable (Request) async throws -> Response

    private let routes: [String: [HTTPRequest.Method: Handler]]
    private let logger: Logger

    init(
        board: BoardController, publish: PublishController, datastar: DatastarTestController, health: HealthController,
        engine: EngineScript, logger: Logger
    ) {
        routes = [
            "/": [.get: board.page],
            "/model": [.get: board.model],
            "/add_post": [.post: board.addPost],
            "/engine.js": [.get: { engine.serve($0) }],
            "/publish": [.post: publish.publish],
            "/datastar-sdk-test": [.get: datastar.get, .post: datastar.post],
            "/healthz": [.get: health.alive],
            "/readyz": [.get: health.ready],
        ]
        self.logger = logger
    }

    func respond(to request: Request, context: Context) async throws -> Response {
        let response = await route(request)
        logger.debug(
            "request",
            metadata: [
                "http.method": "\(request.method)", "http.path": "\(request.uri.path)",
                "http.status": "\(response.status.code)",
            ])
        return response
    }

    private func route(_ request: Request) async -> Response {
        let path = request.uri.path
        guard let methods = routes[path] else {
            return PublisherError(
                .notFound, "no route for \(PublisherError.quoted(path)): try / (the board), POST /publish or /healthz"
            ).response
        }
        let isHead = request.method == .head
        guard let handler = methods[isHead ? .get : request.method] else {
            let allowed = Self.allowed(methods)
            return PublisherError(
                .methodNotAllowed, "\(request.method) not allowed on \(path): use \(allowed)",
                headers: [.allow: allowed]
            ).response
        }
        let response: Response
        do {
            response = try await handler(request)
        } catch let error as PublisherError {
            response = error.response
        } catch let error as RedisError {
            logger.warning("Redis call failed", metadata: ["http.path": "\(path)", "error": "\(error)"])
            response = PublisherError.redisUnavailable(error).response
        } catch {
            logger.error("request failed", metadata: ["http.path": "\(path)", "error": "\(error)"])
            response =
                PublisherError(.internalServerError, "internal error: \(PublisherError.oneLine("\(error)"))")
                .response
        }
        // Headers only, Content-Length included: the length of the body a GET would get.
        return isHead ? Response(status: response.status, headers: response.headers) : response
    }

    /// `GET, HEAD` or `POST`, in a fixed order.
    private static func allowed(_ methods: [HTTPRequest.Method: Handler]) -> String {
        var names: [String] = []
        if methods[.get] != nil { names += ["GET", "HEAD"] }
        if methods[.post] != nil { names.append("POST") }
        return names.joined(separator: ", ")
    }
}
