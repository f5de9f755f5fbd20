import SSEAuth
import ServerSupport

extension PublisherConfiguration {
    /// The token material the settings name, loaded from its files: the visitor tokens (with a signing key) and
    /// the verifier of scoped publish tokens (with verification keys). Either may be missing.
    struct Tokens: Sendable {
        var visitors: VisitorTokens?
        var publishVerifier: TokenVerifier?
    }

    /// Reads the key files and has jwt-kit build the signer and the verifier; a missing or wrong file, a bad key
    /// spec or a key id given twice is one line naming the setting and the file (never the key's contents).
    func tokens() async throws(PublisherConfigurationError) -> Tokens {
        var tokens = Tokens()
        if !tokenSigningKey.isEmpty {
            do {
                let minter = try await TokenMinter(signingKey: try KeySpec(parsing: tokenSigningKey))
                tokens.visitors = VisitorTokens(
                    minter: minter, lifetimeSeconds: Int(tokenLifetimeSeconds.rounded(.up)), cookie: tokenCookie,
                    issuer: tokenIssuer.isEmpty ? nil : tokenIssuer,
                    audience: tokenAudience.isEmpty ? nil : tokenAudience, trustedProxies: trustedProxies)
            } catch {
                throw .init("SSE_TOKEN_SIGNING_KEY: \(error)")
            }
        }
        if let verifier = try publishVerifierConfiguration() {
            do {
                tokens.publishVerifier = try await TokenVerifier(verifier)
            } catch {
                throw .init("SSE_TOKEN_KEYS: \(error)")
            }
        }
        return tokens
    }

    /// Reads and checks the key files as ``tokens()`` does, with its errors, without building jwt-kit's signer and
    /// verifier (settings validation cannot await).
    func validateTokens() throws(PublisherConfigurationError) {
        if !tokenSigningKey.isEmpty {
            do {
                try TokenMinter.validate(signingKey: try KeySpec(parsing: tokenSigningKey))
            } catch {
                throw .init("SSE_TOKEN_SIGNING_KEY: \(error)")
            }
        }
        if let verifier = try publishVerifierConfiguration() {
            do {
                try TokenVerifier.validate(verifier)
            } catch {
                throw .init("SSE_TOKEN_KEYS: \(error)")
            }
        }
    }

    /// The verifier of scoped publish tokens the settings describe; nil without verification keys.
    private func publishVerifierConfiguration() throws(PublisherConfigurationError) -> TokenVerifier.Configuration? {
        guard !tokenKeys.isEmpty else { return nil }
        do {
            let specs = try tokenKeys.map { text throws(AuthConfigurationError) in try KeySpec(parsing: text) }
            return .init(
                keys: specs, issuer: tokenIssuer.isEmpty ? nil : tokenIssuer,
                audience: tokenAudience.isEmpty ? nil : tokenAudience)
        } catch {
            throw .init("SSE_TOKEN_KEYS: \(error)")
        }
    }
}
