import HTTPTypes
import Hummingbird
import Logging
import SSEProtocol

/// `POST /publish`: lets other services publish through HTTP instead of Redis (see ``PublishRequest``).
///
/// Checks run in this order, each answered with one line of `text/plain`:
/// 503 the API is disabled (no token configured), 401 no `Authorization` or not `Bearer` (with
/// `WWW-Authenticate: Bearer`), 403 wrong token, 413 body over 64 KiB, 415 not JSON, 400 malformed JSON, 422 a body
/// that is JSON but not a valid request, 503 Redis unavailable. Success is 202 with `{"id":"…","topic":"…"}`: the
/// event is in the topic's history and on its way to every gateway node.
struct PublishController: Sendable {
    /// Nil when the API is disabled.
    let token: BearerToken?
    let store: BoardStore
    let historyLength: Int
    let logger: Logger

    static let challenge: HTTPFields = [.wwwAuthenticate: "Bearer realm=\"sse-publisher\""]

    func publish(_ request: Request) async throws -> Response {
        guard let token else {
            throw PublisherError(.serviceUnavailable, "publish API disabled: set SSE_PUBLISH_TOKEN")
        }
        switch BearerToken.presented(in: request.headers[.authorization]) {
        case .missing:
            throw PublisherError(
                .unauthorized, "missing bearer token: send Authorization: Bearer <token>", headers: Self.challenge)
        case .notBearer:
            throw PublisherError(
                .unauthorized, "Authorization must use the Bearer scheme: send Authorization: Bearer <token>",
                headers: Self.challenge)
        case .token(let presented):
            guard token.matches(presented) else {
                logger.notice("publish refused: wrong bearer token")
                throw PublisherError(.forbidden, "bearer token is not valid for this service")
            }
        }
        let body = try await request.bodyBytes(limit: PublishRequest.maximumBodyBytes)
        try request.requireContentType("application/json")
        let publish: PublishRequest
        do {
            publish = try PublishRequest(body: body)
        } catch {
            switch error {
            case .malformed(let message): throw PublisherError(.badRequest, message)
            case .invalid(let message): throw PublisherError(.unprocessableContent, message)
            }
        }
        let maxLength = historyLength
        let id = try await store.call("FCALL sse_publish") { connection in
            try await History(runner: connection).publish(
                publish.topic, event: publish.eventName, data: publish.data, maxLength: maxLength)
        }
        logger.debug(
            "published", metadata: ["sse.topic": "\(publish.topic)", "sse.event_id": "\(id)", "sse.api": "publish"])
        return .json(
            "{\"id\":\(JSONText.string("\(id)")),\"topic\":\(JSONText.string(publish.topic.name))}", status: .accepted)
    }
}
