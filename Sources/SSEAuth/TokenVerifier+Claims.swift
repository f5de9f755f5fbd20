import Foundation

extension TokenVerifier {
    /// Checks the registered claims and reads the grants of a payload whose signature verified.
    func claims(_ payload: [String: JSONValue], now: Date) throws(TokenRejection) -> AccessToken {
        let clock = now.timeIntervalSince1970
        guard let expiry = payload["exp"] else { throw .malformed("exp is required") }
        guard let expiresAt = expiry.number else { throw .malformed("exp must be a number (seconds since 1970)") }
        guard clock < expiresAt + leewaySeconds else { throw .expired }
        if let notBefore = try Self.time(payload, "nbf"), clock + leewaySeconds < notBefore { throw .notYetValid }
        let issuedAt = try Self.time(payload, "iat")
        if let issuedAt, issuedAt > clock + leewaySeconds { throw .notYetValid }
        if let issuer = configuration.issuer, payload["iss"]?.string != issuer { throw .wrongIssuer }
        if let audience = configuration.audience {
            let audiences: [String]
            switch payload["aud"] {
            case .string(let single)?: audiences = [single]
            case let value?: audiences = value.strings ?? []
            case nil: audiences = []
            }
            guard audiences.contains(audience) else { throw .wrongAudience }
        }
        return AccessToken(
            subject: try Self.text(payload, "sub"), tokenID: try Self.text(payload, "jti"),
            issuedAt: issuedAt.map { Date(timeIntervalSince1970: $0) },
            expiresAt: Date(timeIntervalSince1970: expiresAt), grants: try grants(payload))
    }

    /// The grants claim: an object with optional arrays of topic patterns `subscribe` and `publish`. A token
    /// without the claim is malformed rather than granted nothing: it was not made for this service.
    func grants(_ payload: [String: JSONValue]) throws(TokenRejection) -> Grants {
        let name = configuration.claim
        guard let claim = payload[name] else { throw .malformed("the grants claim \(name) is missing") }
        guard let members = claim.object else { throw .malformed("the grants claim \(name) is not an object") }
        func patterns(_ field: String) throws(TokenRejection) -> TopicPatterns {
            guard let value = members[field] else { return .none }
            guard let texts = value.strings else {
                throw .malformed("\(name).\(field) is not an array of strings")
            }
            var patterns: [TopicPattern] = []
            for text in texts {
                guard let pattern = try? TopicPattern(validating: text) else {
                    throw .malformed("\(name).\(field) has \(Quoting.quoted(text)), which is not a topic pattern")
                }
                patterns.append(pattern)
            }
            return TopicPatterns(patterns)
        }
        return Grants(subscribe: try patterns("subscribe"), publish: try patterns("publish"))
    }

    /// A NumericDate claim (RFC 7519 §2), nil when absent.
    static func time(_ payload: [String: JSONValue], _ name: String) throws(TokenRejection) -> Double? {
        guard let value = payload[name] else { return nil }
        guard let seconds = value.number else { throw .malformed("\(name) must be a number (seconds since 1970)") }
        return seconds
    }

    /// A string claim, nil when absent.
    static func text(_ payload: [String: JSONValue], _ name: String) throws(TokenRejection) -> String? {
        guard let value = payload[name] else { return nil }
        guard let text = value.string else { throw .malformed("\(name) must be a string") }
        return text
    }
}
