import HTTPTypes
import Hummingbird
import Logging
import SSEAuth
import SSEHistory
import SSEProtocol
import ServerSupport

/// `POST /publish`: lets other services publish through HTTP instead of Redis (see ``PublishRequest``).
///
/// Checks run in this order, each answered with one line of `text/plain`:
/// 503 the API is disabled (no token configured), 401 no `Authorization` or not `Bearer` (with
/// `WWW-Authenticate: Bearer`), 403 wrong token, 401 a JWT that does not verify (``authorize(_:)``), 413 body over
/// 64 KiB, 415 not JSON, 400 malformed JSON, 422 a body that is JSON but not a valid request, 403 a topic the
/// JWT's `publish` grants do not cover, 401 a revoked JWT (503 until the revocations kept in Redis are loaded,
/// ``PublishRevocations``), 503 Redis unavailable. Success is 202 with `{"id":"…","topic":"…"}`: the
/// event is in the topic's history and on its way to every gateway node.
///
/// **Retries.** A 503 after a Redis timeout does not mean nothing was published: the call may still run once Redis
/// answers. A caller that sends `Idempotency-Key: <key>` (1–200 printable ASCII characters, checked after the
/// token, 400 otherwise) may retry safely: a repeat with the same key on the same topic within the window answers
/// the first id with the same 202 and `Idempotent-Replay: true`, and publishes nothing. The repeat's body is not
/// compared with the first one's.
struct PublishController: Sendable {
    /// The administrator's static token (it may publish on every topic); nil when not configured.
    let token: BearerToken?
    /// Checks scoped tokens (JWTs whose `publish` grants name the topics they may publish on); nil without
    /// verification keys. With neither this nor ``token`` the API is disabled.
    let verifier: TokenVerifier?
    /// What scoped tokens are checked against after their grants; set whenever ``verifier`` is.
    let revocations: PublishRevocations?
    let store: BoardStore
    let historyLength: Int
    /// How long a key keeps answering its first id, in seconds.
    let idempotencyWindowSeconds: Int
    let logger: Logger

    static let challenge: HTTPFields = [.wwwAuthenticate: "Bearer realm=\"sse-publisher\""]

    func publish(_ request: Request) async throws -> Response {
        let publisher = try authorize(request)
        let key = try Self.idempotencyKey(in: request)
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
        try Self.check(publisher, mayPublishOn: publish.topic)
        if case .token(let access) = publisher, let revocations {
            try revocations.check(access, publishingOn: publish.topic)
        }
        let maxLength = historyLength
        let window = idempotencyWindowSeconds
        let receipt = try await store.withHistory("FCALL sse_publish") { history in
            if let key {
                return try await history.publish(
                    publish.topic, event: publish.eventName, data: publish.data, maxLength: maxLength,
                    idempotencyKey: key, windowSeconds: window)
            }
            return History.Receipt(
                id: try await history.publish(
                    publish.topic, event: publish.eventName, data: publish.data, maxLength: maxLength),
                isReplay: false)
        }
        logger.debug(
            "published",
            metadata: [
                "sse.topic": "\(publish.topic)", "sse.event_id": "\(receipt.id)", "sse.api": "publish",
                "sse.replay": "\(receipt.isReplay)",
            ])
        return .json(
            "{\"id\":\(JSONText.string("\(receipt.id)")),\"topic\":\(JSONText.string(publish.topic.name))}",
            status: .accepted, headers: receipt.isReplay ? [Self.replayHeader: "true"] : [:])
    }

    static let replayHeader = HTTPField.Name("Idempotent-Replay")!

    /// The request's `Idempotency-Key`, if any; 400 for a bad one or for two.
    static func idempotencyKey(in request: Request) throws -> IdempotencyKey? {
        let values = request.headers[values: HTTPField.Name("Idempotency-Key")!]
        guard let value = values.first else { return nil }
        guard values.count == 1 else {
            throw PublisherError(.badRequest, "Idempotency-Key is given \(values.count) times: send one key")
        }
        do {
            return try IdempotencyKey(validating: value, subject: "Idempotency-Key")
        } catch {
            throw PublisherError(.badRequest, error.description)
        }
    }
}
