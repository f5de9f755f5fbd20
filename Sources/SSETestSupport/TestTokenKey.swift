import Foundation
import LocalRedis

/// An HS256 key for gateways started by a test, and tokens signed with it: the secret lives in a file of its own
/// (the gateways read `--token-key <id>=HS256:<file>`), random per key, so parallel suites never share one and no
/// secret is committed or logged. The file is removed when the key goes away.
public final class TestTokenKey: Sendable {
    /// The key id (`kid`) the gateways know the key by.
    public let id: String
    /// The HMAC secret: 64 hexadecimal characters (32 random bytes), written to ``path`` without a line ending.
    public let secret: [UInt8]
    public let path: String

    public init(id: String = "main") throws {
        self.id = id
        let hex = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        secret = Array(hex.utf8)
        path = NSTemporaryDirectory() + "sse-test-key-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).secret"
        guard
            FileManager.default.createFile(atPath: path, contents: Data(secret), attributes: [.posixPermissions: 0o600])
        else { throw ProgramError(message: "cannot write the test key file \(path)") }
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The gateway flags that configure this key.
    public var gatewayArguments: [String] { ["--token-key", "\(id)=HS256:\(path)"] }

    /// A token granting `subscribe`, valid for `expiresIn` seconds (or until the Unix time `expiresAt`), issued
    /// `issuedAgo` seconds ago (so that a revocation of its subject, which covers tokens issued until the
    /// revocation's second, certainly covers it).
    public func token(
        subscribe: [String], subject: String? = nil, tokenID: String? = nil, expiresIn: Int = 600,
        expiresAt: Int? = nil, issuedAgo: Int = 0
    ) -> String {
        var members = [
            #""exp":\#(expiresAt ?? TestTokens.unixTime(expiresIn))"#, #""iat":\#(TestTokens.unixTime(-issuedAgo))"#,
            #""sse":{"subscribe":[\#(subscribe.map { "\"\($0)\"" }.joined(separator: ","))]}"#,
        ]
        if let subject { members.append(#""sub":"\#(subject)""#) }
        if let tokenID { members.append(#""jti":"\#(tokenID)""#) }
        return TestTokens.hmac(
            header: #"{"alg":"HS256","typ":"JWT","kid":"\#(id)"}"#, payload: "{" + members.joined(separator: ",") + "}",
            key: secret)
    }

    /// `Authorization: Bearer <token>` as request headers.
    public static func bearer(_ token: String) -> [(String, String)] { [("Authorization", "Bearer \(token)")] }
}

/// The `ssectl` that `swift test` built beside the test bundle.
public enum SSECtlProgram {
    public static var executable: String { ChildProcess.siblingExecutable("ssectl") }

    /// Runs `ssectl arguments…` to its end (standard output and error together, see ``runProgram``).
    public static func run(_ arguments: [String], timeout: Duration = .seconds(30)) async throws -> ProgramResult {
        try await runProgram(executable, arguments, timeout: timeout)
    }
}
