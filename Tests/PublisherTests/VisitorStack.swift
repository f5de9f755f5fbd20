import Foundation
import LocalRedis
import SSEAuth
import SSETestSupport
import Testing

/// A real redis-server, an sse-gateway that verifies tokens with an HS256 secret (only `board` public) and an
/// sse-publisher that signs its visitors' cookies and checks scoped publish tokens with the same secret: the demo
/// with private visitor topics, as `deploy/local-cluster` runs it.
struct VisitorStack: Sendable {
    let redis: LocalRedisServer
    let gateway: GatewayProcess
    let publisher: PublisherProcess
    /// The HS256 secret's file (kid `demo`).
    let secretFile: String

    static let secret = "a-visitor-test-secret-of-at-least-32-bytes"

    static func with<T: Sendable>(
        publisherArguments: [String] = [], _ body: (VisitorStack) async throws -> T
    ) async throws -> T {
        try await withLocalRedis { redis in
            let secretFile = NSTemporaryDirectory() + "visitor-tokens-\(getpid())-\(redis.port).secret"
            try Data((secret + "\n").utf8).write(to: URL(fileURLWithPath: secretFile))
            defer { try? FileManager.default.removeItem(atPath: secretFile) }
            let key = "demo=HS256:\(secretFile)"
            let gateway = try await GatewayProcess.start(
                redis: redis, arguments: ["--token-key", key, "--public-topic", "board"])
            let publisher = try await PublisherProcess.start(
                redis: redis,
                arguments: ["--token-signing-key", key, "--token-key", key] + publisherArguments,
                environment: ["SSE_PUBLISH_TOKEN": BoardStack.token])
            return try await body(
                VisitorStack(redis: redis, gateway: gateway, publisher: publisher, secretFile: secretFile))
        }
    }

    /// The gateway's view of a token: verified with the gateway's key.
    func verify(_ token: String) async throws -> AccessToken {
        let verifier = try await TokenVerifier(
            .init(keys: [KeySpec(keyID: "demo", algorithm: .hs256, path: secretFile)]))
        return try verifier.verify(token, now: Date())
    }

    /// A token signed with the stack's secret.
    func mint(
        publish: [String] = [], subscribe: [String] = [], subject: String = "service", tokenID: String? = nil,
        lifetime: Duration = .seconds(300), now: Date = Date()
    ) async throws -> String {
        try await TokenMinter(signingKey: KeySpec(keyID: "demo", algorithm: .hs256, path: secretFile)).mint(
            subject: subject,
            grants: Grants(
                subscribe: try TopicPatterns(validating: subscribe), publish: try TopicPatterns(validating: publish)),
            lifetime: lifetime, tokenID: tokenID, issuer: nil, audience: nil, now: now)
    }
}

/// The cookies one answer sets.
struct SetCookies {
    /// Every `Set-Cookie` value, in order.
    let values: [String]

    init(_ response: HTTPProbe.Response) {
        values = response.head.split(separator: "\r\n").compactMap { line in
            guard line.lowercased().hasPrefix("set-cookie:") else { return nil }
            return String(line.dropFirst("set-cookie:".count).drop { $0 == " " })
        }
    }

    /// The value of cookie `name` (up to the first `;`).
    func value(_ name: String) -> String? {
        values.first { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1).prefix { $0 != ";" }) }
    }

    /// The attributes after the value of cookie `name`, e.g. `; Max-Age=900; Path=/; HttpOnly; SameSite=Lax`.
    func attributes(_ name: String) -> String? {
        values.first { $0.hasPrefix(name + "=") }.map { String($0.drop { $0 != ";" }) }
    }
}

/// The patch a poster's page gets on their own topic.
func posterNotice(_ version: Int) -> String {
    #"{"html":{"notice":"Your post #\#(version) was published"}}"#
}
