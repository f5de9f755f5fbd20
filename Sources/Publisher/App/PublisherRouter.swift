import HTTPTypes
import Hummingbird
import Logging
import RedisClient
import ServerSupport

/// The publisher's routes on Hummingbird's `Router`, with the conventions the gateway keeps too: every `GET` route
/// also answers `HEAD` (headers only, `Content-Length` included), a known path asked with another method gets 405
/// with `Allow`, an unknown path a one-line 404 saying where to go, and every failure one line of text
/// (``PublisherError``).
///
/// The route table below is the one place a route is named: it is registered on the router and gives each path's
/// `Allow` value, so the two cannot disagree.
enum PublisherRouter {
    typealias Context = PublisherRequestContext
    typealias Handler = @Sendable (Request, Context) async throws -> Response

    /// One method on one path.
    struct Route: Sendable {
        var method: HTTPRequest.Method
        var path: String
        var handler: Handler

        /// A route whose handler needs the request only.
        init(method: HTTPRequest.Method, path: String, handler: @escaping @Sendable (Request) async throws -> Response)
        {
            self.init(method: method, path: path, withContext: { request, _ in try await handler(request) })
        }

        /// A route whose handler reads the context too (the client's address).
        init(method: HTTPRequest.Method, path: String, withContext handler: @escaping Handler) {
            self.method = method
            self.path = path
            self.handler = handler
        }
    }

    static func routes(
        board: BoardController, publish: PublishController, datastar: DatastarTestController, health: HealthController,
        engine: EngineScript, dashboard: DashboardController
    ) -> [Route] {
        [
            Route(method: .get, path: "/dashboard", withContext: dashboard.page),
            Route(method: .get, path: "/dashboard.js", handler: { dashboard.script.serve($0) }),
            Route(method: .get, path: "/", withContext: board.page),
            Route(method: .get, path: "/model", handler: board.model),
            Route(method: .post, path: "/add_post", withContext: board.addPost),
            Route(method: .post, path: VisitorTokens.refreshPath, withContext: board.refreshToken),
            Route(method: .get, path: "/engine.js", handler: { engine.serve($0) }),
            Route(method: .post, path: "/publish", handler: publish.publish),
            Route(method: .get, path: "/datastar-sdk-test", handler: datastar.get),
            Route(method: .post, path: "/datastar-sdk-test", handler: datastar.post),
            Route(method: .get, path: "/healthz", handler: health.alive),
            Route(method: .get, path: "/readyz", handler: health.ready),
            Route(
                method: .get, path: "/metrics",
                handler: PostRateLimit.metrics(
                    [board.postRate, board.tokenRate], acknowledged: board.store.acknowledged)),
        ]
    }

    /// The router's responder: ``PublisherAnswers`` around every route and around Hummingbird's "no route" answer,
    /// `HEAD` generated for every `GET` route.
    static func responder(routes: [Route], logger: Logger) -> RouterResponder<Context> {
        let router = Router(context: Context.self, options: .autoGenerateHeadEndpoints)
        // Added before the routes, so it wraps each of them and the responder for requests no route takes.
        router.add(middleware: PublisherAnswers(allowedMethods: allowedMethods(routes), logger: logger))
        for route in routes {
            router.on(RouterPath(route.path), method: route.method) { request, context in
                try await route.handler(request, context)
            }
        }
        return router.buildResponder()
    }

    /// Each path's `Allow` value: `GET, HEAD` and `POST` in that order, as the methods are registered.
    static func allowedMethods(_ routes: [Route]) -> [String: String] {
        Dictionary(grouping: routes, by: \.path).mapValues { routes in
            let methods = Set(routes.map(\.method))
            var names: [String] = []
            if methods.contains(.get) { names += ["GET", "HEAD"] }
            if methods.contains(.post) { names.append("POST") }
            return names.joined(separator: ", ")
        }
    }
}

/// Turns every failure of a request into a ``PublisherError`` (which Hummingbird's router answers as one line of
/// text, headers only for `HEAD`) and logs each answer at debug level.
///
/// - Hummingbird's own "no route" error (`HTTPError(.notFound)`, thrown only when no route takes the path and
///   method, since the handlers throw ``PublisherError``) becomes 405 with `Allow` when the path has routes for other
///   methods, else 404 naming the entry points.
/// - A ``RedisClient/RedisError`` or ``RedisClient/RedisClusterError`` (no node answers, retries of a slot that
///   is moving ran out) becomes 503 with `Retry-After` (``PublisherError/redisUnavailable(_:)``).
/// - Anything else is 500 `internal error: …`, logged as an error.
struct PublisherAnswers<Context: RequestContext>: RouterMiddleware {
    let allowedMethods: [String: String]
    let logger: Logger

    /// `@concurrent`, as Hummingbird's protocol is declared (its module predates `NonisolatedNonsendingByDefault`).
    @concurrent func handle(
        _ request: Request, context: Context, next: @concurrent (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            let response = try await next(request, context)
            log(request, status: response.status)
            return response
        } catch {
            let failure = self.failure(for: error, request: request)
            log(request, status: failure.status)
            throw failure
        }
    }

    private func failure(for error: any Error, request: Request) -> PublisherError {
        let path = request.uri.path
        switch error {
        case let error as PublisherError:
            return error
        case let error as HTTPError where error.status == .notFound:
            guard let allowed = allowedMethods[path] else {
                return PublisherError(
                    .notFound,
                    "no route for \(PublisherError.quoted(path)): try / (the board), POST /publish or /healthz")
            }
            return PublisherError(
                .methodNotAllowed, "\(request.method) not allowed on \(path): use \(allowed)",
                headers: [.allow: allowed])
        case let error as RedisError:
            logger.warning("Redis call failed", metadata: ["http.path": "\(path)", "error": "\(error)"])
            return .redisUnavailable(error)
        case let error as RedisClusterError:
            logger.warning("Redis Cluster call failed", metadata: ["http.path": "\(path)", "error": "\(error)"])
            return .redisUnavailable(error)
        default:
            logger.error("request failed", metadata: ["http.path": "\(path)", "error": "\(error)"])
            return PublisherError(.internalServerError, "internal error: \(PublisherError.oneLine("\(error)"))")
        }
    }

    private func log(_ request: Request, status: HTTPResponse.Status) {
        logger.debug(
            "request",
            metadata: [
                "http.method": "\(request.method)", "http.path": "\(request.uri.path)", "http.status": "\(status.code)",
            ])
    }
}
