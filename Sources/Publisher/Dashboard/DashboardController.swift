import Foundation
import Hummingbird
import Logging
import RedisClient
import SSEProtocol
import ServerSupport

/// `GET /dashboard`: the gateway cluster at a glance, read from the node registry in Redis (``ClusterState``) and
/// kept live by `dashboard.js` from the gateway's own stream of `sse.nodes` (``DashboardPage``).
///
/// The read is one `ZRANGE` and one pipeline in the registry's slot, bounded by the Redis timeout. When Redis does
/// not answer, the page still renders (no nodes, the reason on top) with status 503 and `Retry-After: 1`, so the
/// script can still follow the stream and an operator sees why.
struct DashboardController: Sendable {
    let store: BoardStore
    let script: EngineScript
    let sseURL: String
    let logger: Logger

    func page(_ request: Request, context: some RequestContext) async throws -> Response {
        var status = HTTPResponse.Status.ok
        var problem: String?
        var state = ClusterState(nodes: [], readAt: Int64(Date().timeIntervalSince1970 * 1000))
        do {
            state = try await store.call("the node registry", key: NodeRegistryKeys.members) { runner in
                try await ClusterState.read(from: runner)
            }
        } catch {
            status = .serviceUnavailable
            problem = "Redis unavailable: " + PublisherError.oneLine("\(error)")
            logger.debug("dashboard without the registry", metadata: ["error": "\(error)"])
        }
        let html = DashboardPage(state: state, sseURL: sseURL, scriptVersion: script.fingerprint, problem: problem).html
        var headers: HTTPFields = [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"]
        if status == .serviceUnavailable { headers[.retryAfter] = "1" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}
