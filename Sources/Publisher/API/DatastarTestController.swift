import HTTPTypes
import Hummingbird
import SSEProtocol
import ServerSupport

/// `/datastar-sdk-test`: Datastar's public SDK test protocol, so the upstream test suite can check that the events
/// this project emits are the ones the SDK ADR specifies.
///
/// `GET /datastar-sdk-test?datastar=<url-encoded JSON>` or `POST` with the JSON as body, holding
/// `{"events":[…]}`; the answer is `text/event-stream` with exactly the SSE for those events
/// (``DatastarSDKTest``). A body that cannot be answered is 400 with its one-line reason.
struct DatastarTestController: Sendable {
    /// Largest POST body accepted (test bodies are a few hundred bytes).
    static let maximumBodyBytes = 64 * 1024

    func get(_ request: Request) async throws -> Response {
        let fields: FormFields
        do {
            fields = try FormFields(decoding: request.uri.query ?? "")
        } catch {
            throw PublisherError.malformedForm(error)
        }
        guard let json = fields["datastar"] else {
            throw PublisherError(
                .badRequest, "missing datastar query parameter: expected ?datastar=<url-encoded {\"events\":[…]}>")
        }
        return try answer(json)
    }

    func post(_ request: Request) async throws -> Response {
        try request.requireContentType("application/json")
        let body = try await request.bodyBytes(limit: Self.maximumBodyBytes)
        guard let json = String(validating: body, as: UTF8.self) else {
            throw PublisherError(.badRequest, "Datastar SDK test body is not UTF-8: expected JSON text")
        }
        return try answer(json)
    }

    private func answer(_ json: String) throws -> Response {
        let sse: String
        do {
            sse = try DatastarSDKTest.response(forJSON: json)
        } catch {
            throw PublisherError(.badRequest, PublisherError.oneLine(error.description))
        }
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: .init(byteBuffer: ByteBuffer(string: sse)))
    }
}
