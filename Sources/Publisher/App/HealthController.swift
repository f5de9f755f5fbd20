import HTTPTypes
import Hummingbird

/// `GET /healthz` and `GET /readyz`, for load balancers and the cluster scripts.
///
/// - `/healthz`: `200 ok` whenever the process answers HTTP, Redis or not.
/// - `/readyz`: `200 ready` when Redis answers within the Redis timeout and both function libraries the service
///   calls (`sse`, `board`) are loaded (on a Redis Cluster: on every primary); otherwise
///   `503 not ready: <reason>` with `Retry-After: 1`. The libraries are loaded at start (retried until Redis
///   answers) and, by ``LibraryWatch``, again within about a second after Redis lost them, without waiting for
///   traffic.
struct HealthController: Sendable {
    let store: BoardStore

    func alive(_ request: Request) async throws -> Response {
        .plain("ok")
    }

    func ready(_ request: Request) async throws -> Response {
        if let reason = await store.unreadyReason() {
            return .plain("not ready: \(reason)", status: .serviceUnavailable, headers: [.retryAfter: "1"])
        }
        return .plain("ready")
    }
}
