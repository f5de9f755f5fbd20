import SSEAuth
import ServerSupport

extension PublisherConfiguration {
    /// The token material the settings name, loaded from its files: the visitor tokens (with a signing key) and
    /// the verifier of scoped publish tokens (with verification keys). Either may be missing.
    struct Tokens: Sendable {
        var visitors: VisitorTokens?
        var publishVerifier: TokenVerifier?
    }

    /// Reads the key files once; a missing or wrong file, a bad key spec or a key id given twice is one line naming
    /// the setting and the file (never the key's contents).
    func tokens() throws(PublisherConfigurationError) -> Tokens {
        var tokens = Tokens()
        if !tokenSigningKey.isEmpty {
            do {
                let minter = try TokenMinter(signingKey: try KeySpec(parsing: tokenSigningKey))
                tokens.visitors = VisitorTokens(
                    minter: minter, lifetimeSeconds: Int(tokenLifetimeSeconds.rounded(.up)), cookie: tokenCookie,
                    issuer: tokenIssuer.isEmpty ? nil : tokenIssuer,
                    audience: tokenAudience.isEmpty ? nil : tokenAudience, trustedProxies: trustedProxies)
            } catch {
                throw .init("SSE_TOKEN_SIGNING_KEY: \(error)")
            }
        }
        if !tokenKeys.isEmpty {
            do {
                let specs = try tokenKeys.map { text throws(AuthConfigurationError) in try KeySpec(parsing: text) }
                tokens.publishVerifier = try TokenVerifier(
                    .init(
                        keys: specs, issuer: tokenIssuer.isEmpty ? nil : tokenIssuer,
                        audience: tokenAudience.isEmpty ? nil : tokenAudience))
            } catch {
                throw .init("SSE_TOKEN_KEYS: \(error)")
            }
        }
        return tokens
    }
}
