import Foundation

/// A token that passed every check: its identity (for revocation and logs), its expiry (the stream ends there)
/// and its grants.
public struct AccessToken: Sendable {
    /// `sub`: whom the token was issued to; revocation by subject closes their streams.
    public let subject: String?
    /// `jti`: the token's own id; revocation by token id closes its streams and refuses it until it expires.
    public let tokenID: String?
    /// `iat`.
    public let issuedAt: Date?
    /// `exp`, required.
    public let expiresAt: Date
    public let grants: Grants

    public init(subject: String?, tokenID: String?, issuedAt: Date?, expiresAt: Date, grants: Grants) {
        self.subject = subject
        self.tokenID = tokenID
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.grants = grants
    }
}
