import Crypto
import CryptoExtras
import Foundation

/// Signs access tokens with one configured key: the publisher's visitor cookies and `ssectl token`.
///
/// The key spec is the verifier's, except that a key pair's file must hold the PRIVATE key PEM (an HMAC key's
/// file holds the same secret on both sides). The header carries the spec's `kid` and `alg`, so a verifier with
/// several keys picks this one directly.
public struct TokenMinter: Sendable {
    enum Material: Sendable {
        case hmac(SymmetricKey)
        case rsa(_RSA.Signing.PrivateKey)
        case p256(P256.Signing.PrivateKey)
        case ed25519(Curve25519.Signing.PrivateKey)
    }

    public let signingKey: KeySpec
    let material: Material

    /// Reads the key file; throws an ``AuthConfigurationError`` naming the spec and file.
    public init(signingKey: KeySpec) throws(AuthConfigurationError) {
        let contents = try KeyFile.read(signingKey)
        switch signingKey.algorithm {
        case .hs256, .hs384, .hs512:
            material = .hmac(try KeyFile.secret(contents, signingKey))
        case .rs256:
            let pem = try KeyFile.pem(contents, signingKey)
            guard let key = try? _RSA.Signing.PrivateKey(unsafePEMRepresentation: pem) else {
                throw KeyFile.wrongType(signingKey, "an RSA private key")
            }
            try KeyFile.checkRSASize(key.keySizeInBits, signingKey)
            material = .rsa(key)
        case .es256:
            let pem = try KeyFile.pem(contents, signingKey)
            guard let key = try? P256.Signing.PrivateKey(pemRepresentation: pem) else {
                throw KeyFile.wrongType(signingKey, "a P-256 private key")
            }
            material = .p256(key)
        case .edDSA:
            let pem = try KeyFile.pem(contents, signingKey)
            guard let key = try? Curve25519.Signing.PrivateKey(pemRepresentation: pem) else {
                throw KeyFile.wrongType(signingKey, "an Ed25519 private key")
            }
            material = .ed25519(key)
        }
        self.signingKey = signingKey
    }

    /// A compact JWT: header `{"alg","kid","typ":"JWT"}`, payload with `iat` and `exp` (whole seconds, `exp` =
    /// `now` + `lifetime`), `sub`, `jti`, `iss`, `aud` when given, and the grants under `claim` as
    /// `{"subscribe": [...], "publish": [...]}` (an empty list is left out).
    public func mint(
        subject: String?, grants: Grants, lifetime: Duration, tokenID: String?, issuer: String?,
        audience: String?, claim: String = "sse", now: Date
    ) throws -> String {
        guard lifetime > .zero else { throw AuthConfigurationError("a token's lifetime must be positive") }
        let issuedAt = now.timeIntervalSince1970.rounded(.down)
        let seconds = Double(lifetime.components.seconds) + Double(lifetime.components.attoseconds) / 1e18
        var payload: [String: JSONValue] = [
            "iat": .number(issuedAt), "exp": .number((issuedAt + seconds).rounded(.up)),
        ]
        if let subject { payload["sub"] = .string(subject) }
        if let tokenID { payload["jti"] = .string(tokenID) }
        if let issuer { payload["iss"] = .string(issuer) }
        if let audience { payload["aud"] = .string(audience) }
        var grantClaim: [String: JSONValue] = [:]
        if !grants.subscribe.patterns.isEmpty {
            grantClaim["subscribe"] = .array(grants.subscribe.descriptions.map(JSONValue.string))
        }
        if !grants.publish.patterns.isEmpty {
            grantClaim["publish"] = .array(grants.publish.descriptions.map(JSONValue.string))
        }
        payload[claim] = .object(grantClaim)
        let header: JSONValue = .object([
            "alg": .string(signingKey.algorithm.rawValue), "kid": .string(signingKey.keyID), "typ": .string("JWT"),
        ])
        return try sign(header: header, payload: .object(payload))
    }

    /// Encodes and signs any header and payload as given (the tests use it for tokens that must be refused).
    func sign(headerJSON: [UInt8], payloadJSON: [UInt8]) throws -> String {
        let input = Base64URL.encode(headerJSON) + "." + Base64URL.encode(payloadJSON)
        return input + "." + Base64URL.encode(try signature(for: Array(input.utf8)))
    }

    func sign(header: JSONValue, payload: JSONValue) throws -> String {
        let encoder = JSONEncoder()
        // Sorted keys: the same claims give the same token, which tests and caches can rely on.
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try sign(headerJSON: Array(encoder.encode(header)), payloadJSON: Array(encoder.encode(payload)))
    }

    /// The JWS signature over `input`: an HMAC, RSASSA-PKCS1-v1_5 with SHA-256, ECDSA P-256 as R || S, or Ed25519.
    func signature(for input: [UInt8]) throws -> [UInt8] {
        switch (material, signingKey.algorithm) {
        case (.hmac(let secret), .hs384):
            return Array(HMAC<SHA384>.authenticationCode(for: input, using: secret))
        case (.hmac(let secret), .hs512):
            return Array(HMAC<SHA512>.authenticationCode(for: input, using: secret))
        case (.hmac(let secret), _):
            return Array(HMAC<SHA256>.authenticationCode(for: input, using: secret))
        case (.rsa(let key), _):
            let digest = SHA256.hash(data: input)
            return Array(try key.signature(for: digest, padding: .insecurePKCS1v1_5).rawRepresentation)
        case (.p256(let key), _):
            return Array(try key.signature(for: SHA256.hash(data: input)).rawRepresentation)
        case (.ed25519(let key), _):
            return Array(try key.signature(for: input))
        }
    }
}
