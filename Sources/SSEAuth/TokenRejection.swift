/// Why a token was refused.
///
/// ``reason`` is a short stable label for metrics and logs; ``description`` is the one-line message for the 401
/// body. Neither ever contains the token or a secret; strings taken from the token (a key id, an algorithm, a
/// grant entry) are quoted with escaping and clipped by ``Quoting``, so a message stays under about 200 characters.
public enum TokenRejection: Error, Equatable, Sendable, CustomStringConvertible {
    /// No token was given (or it was empty).
    case missing
    /// Longer than ``TokenVerifier/Configuration/maximumLength`` bytes; checked before anything is decoded.
    case tooLarge(limit: Int)
    /// Not a compact JWS with a JSON header and payload of the expected shape; the text says what was wrong.
    case malformed(String)
    /// The header's `kid` names no configured key (the associated value is that key id, unquoted).
    case unknownKey(String)
    /// The header's `alg` is `none`, missing from the configuration, or not the chosen key's configured one; the
    /// text is the whole message.
    case algorithm(String)
    /// No configured key verifies the signature.
    case badSignature
    /// `exp` is past (beyond the leeway).
    case expired
    /// `nbf` or `iat` is in the future (beyond the leeway).
    case notYetValid
    /// `iss` is not the configured issuer.
    case wrongIssuer
    /// `aud` does not contain the configured audience.
    case wrongAudience
    /// The token id or subject was revoked (decided by the caller, which keeps the revocation list).
    case revoked

    /// The metrics label: `missing`, `too_large`, `malformed`, `unknown_key`, `algorithm`, `bad_signature`,
    /// `expired`, `not_yet_valid`, `wrong_issuer`, `wrong_audience` or `revoked`.
    public var reason: String {
        switch self {
        case .missing: "missing"
        case .tooLarge: "too_large"
        case .malformed: "malformed"
        case .unknownKey: "unknown_key"
        case .algorithm: "algorithm"
        case .badSignature: "bad_signature"
        case .expired: "expired"
        case .notYetValid: "not_yet_valid"
        case .wrongIssuer: "wrong_issuer"
        case .wrongAudience: "wrong_audience"
        case .revoked: "revoked"
        }
    }

    public var description: String {
        switch self {
        case .missing: "access token is missing"
        case .tooLarge(let limit): "access token is longer than \(limit) bytes"
        case .malformed(let why): "access token is malformed: \(why)"
        case .unknownKey(let kid): "access token names key \(Quoting.quoted(kid)), which is not configured"
        case .algorithm(let message): message
        case .badSignature: "access token signature does not verify"
        case .expired: "access token has expired"
        case .notYetValid: "access token is not valid yet"
        case .wrongIssuer: "access token is from another issuer"
        case .wrongAudience: "access token is for another audience"
        case .revoked: "access token has been revoked"
        }
    }
}

/// A configuration mistake (a bad key file, key spec, HMAC secret or topic pattern): one line naming the setting
/// or file and what was wrong. Thrown at startup; the executables print it and exit 64. It never contains a secret.
public struct AuthConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// Quoting of untrusted or user-given strings in messages.
public enum Quoting {
    /// Longest input shown; a longer one is clipped so a hostile token cannot stretch a 401 body or a log line.
    public static let maximumQuotedCharacters = 40

    /// The text in double quotes with quotes, backslashes and control characters escaped (so the message stays on
    /// one line), clipped to ``maximumQuotedCharacters`` with a trailing `…`.
    public static func quoted(_ text: String) -> String {
        guard text.count > maximumQuotedCharacters else { return text.debugDescription }
        return String(text.prefix(maximumQuotedCharacters)).debugDescription + "…"
    }
}
