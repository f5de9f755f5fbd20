import HTTPTypes
import NIOHTTP1
import ServerSupport

/// Who may read the node's figures (`/sse-metrics`, `/metrics`, `/sse-health`): anyone when no token is set (as
/// before, with nginx keeping `/nodes/` to the operators), or only requests with `Authorization: Bearer <token>`
/// when `SSE_METRICS_TOKEN` is set. `/sse-health` lists peer addresses and topics, which a public node should not
/// show to everyone. The probes (`/healthz`, `/readyz`) stay open: load balancers call them without credentials.
struct MetricsAccess: Sendable {
    /// The token's bytes; nil or empty: open.
    private let token: [UInt8]?

    init(token: String?) {
        self.token = token.flatMap { $0.isEmpty ? nil : Array($0.utf8) }
    }

    var isOpen: Bool { token == nil }

    /// The refusal for a request that does not carry the token, or nil. The answer never repeats what was sent.
    func refusal(for head: HTTPRequestHead) -> HTTPFailure? {
        guard let token else { return nil }
        let given = head.headers["Authorization"].first.flatMap(Self.bearer)
        if let given, Self.constantTimeEqual(given, token) { return nil }
        return HTTPFailure(
            .unauthorized,
            given == nil
                ? "metrics need a bearer token: send Authorization: Bearer <SSE_METRICS_TOKEN>"
                : "metrics token not accepted",
            headers: [.wwwAuthenticate: #"Bearer realm="sse-metrics""#])
    }

    /// The credentials of `Bearer <token>` (scheme case-insensitive, RFC 9110 §11.1).
    private static func bearer(_ value: String) -> [UInt8]? {
        let bytes = Array(value.utf8)
        let scheme = Array("bearer ".utf8)
        guard bytes.count > scheme.count,
            zip(bytes, scheme).allSatisfy({ $0 | 0x20 == $1 })
        else { return nil }
        let rest = bytes[scheme.count...].drop { $0 == 0x20 }
        return rest.isEmpty ? nil : Array(rest)
    }

    /// Compares in time that depends on the expected token's length only, not on where the bytes differ.
    static func constantTimeEqual(_ given: [UInt8], _ expected: [UInt8]) -> Bool {
        var difference = UInt8(given.count == expected.count ? 0 : 1)
        for index in expected.indices {
            difference |= expected[index] ^ (index < given.count ? given[index] : ~expected[index])
        }
        return difference == 0
    }
}
