import Crypto
import CryptoExtras
import Foundation
import JWTKit

/// Signs access tokens with one configured key: the publisher's visitor cookies and `ssectl token`.
///
/// The key spec is the verifier's, except that a key pair's file must hold the PRIVATE key PEM (an HMAC key's
/// file holds the same secret on both sides). The header carries the spec's `kid` and `alg`, so a verifier with
/// several keys picks this one directly. Signing goes through the `JWTAlgorithm` jwt-kit builds for the key at
/// load, called synchronously (the publisher mints inside its request handlers); the header and payload are
/// encoded here, so a token's bytes do not depend on jwt-kit's JSON encoder.
public struct TokenMinter: Sendable {
    public let signingKey: KeySpec
    /// jwt-kit's HMAC, RSASSA-PKCS1-v1_5 SHA-256, ECDSA P-256 (R || S) or Ed25519 signer, holding the key.
    let signer: any JWTAlgorithm

    /// Reads the key file and has jwt-kit build its signer; throws an ``AuthConfigurationError`` naming the spec
    /// and file. Async only because jwt-kit's `JWTKeyCollection` is an actor; minting is synchronous.
    public init(signingKey: KeySpec) async throws(AuthConfigurationError) {
        let key = try LoadedKey(signing: signingKey)
        self.signer = try await LoadedKey.algorithms([key])[0]
        self.signingKey = signingKey
    }

    /// Reads and checks the key file as ``init(signingKey:)`` does, with the same errors, without building
    /// jwt-kit's signer: for settings validation, which cannot await.
    public static func validate(signingKey: KeySpec) throws(AuthConfigurationError) {
        _ = try LoadedKey(signing: signingKey)
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
        try signer.sign(input)
    }
}

extension LoadedKey {
    /// Reads the spec's file for minting: the secret for HS*, the private key PEM otherwise.
    init(signing spec: KeySpec) throws(AuthConfigurationError) {
        let contents = try KeyFile.read(spec)
        let material: Material
        switch spec.algorithm {
        case .hs256, .hs384, .hs512:
            material = .hmac(HMACKey(key: try KeyFile.secret(contents, spec)))
        case .rs256:
            let pem = try KeyFile.pem(contents, spec)
            guard let key = try? _RSA.Signing.PrivateKey(unsafePEMRepresentation: pem) else {
                throw KeyFile.wrongType(spec, "an RSA private key")
            }
            try KeyFile.checkRSASize(key.keySizeInBits, spec)
            material = .rsa(try KeyFile.jwtKit(spec) { try Insecure.RSA.PrivateKey(backing: key) })
        case .es256:
            let pem = try KeyFile.pem(contents, spec)
            guard let key = try? P256.Signing.PrivateKey(pemRepresentation: pem) else {
                throw KeyFile.wrongType(spec, "a P-256 private key")
            }
            material = .ecdsa(try KeyFile.jwtKit(spec) { try ES256PrivateKey(backing: key) })
        case .edDSA:
            let pem = try KeyFile.pem(contents, spec)
            guard let key = try? Curve25519.Signing.PrivateKey(pemRepresentation: pem) else {
                throw KeyFile.wrongType(spec, "an Ed25519 private key")
            }
            material = .eddsa(EdDSA.PrivateKey(backing: key))
        }
        self.init(keyID: spec.keyID, algorithm: spec.algorithm, material: material)
    }
}
