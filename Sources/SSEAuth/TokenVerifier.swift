import Foundation

/// Checks access tokens (compact JWS, RFC 7515/7519) against the configured keys.
///
/// The algorithm of every key comes from configuration, never from the token: the header's `alg` only has to
/// agree with the chosen key's, so `alg: none`, an HMAC made with a public key's bytes, or any other algorithm
/// swap is refused before a signature is checked. `verify` is synchronous and touches only immutable state: the
/// gateway calls it on its event loops for every stream request.
public struct TokenVerifier: Sendable {
    public struct Configuration: Sendable {
        /// Keys as `KID=ALG:PATH` (see ``KeySpec``).
        public var keys: [KeySpec]
        /// JWKS JSON files on disk; each key needs `kid` and `alg`.
        public var jwksFiles: [String]
        /// When set, a token's `iss` must equal it.
        public var issuer: String?
        /// When set, a token's `aud` (a string or an array of strings) must contain it.
        public var audience: String?
        /// Clock skew allowed for `exp`, `nbf` and `iat`; default 5 s.
        public var leeway: Duration
        /// The name of the grants claim, `{"subscribe": [...], "publish": [...]}`; default `sse`.
        public var claim: String
        /// Longest accepted token in bytes (default 8192, what fits comfortably in a header or a cookie); longer
        /// ones are refused before anything is decoded.
        public var maximumLength: Int

        public init(
            keys: [KeySpec] = [], jwksFiles: [String] = [], issuer: String? = nil, audience: String? = nil,
            leeway: Duration = .seconds(5), claim: String = "sse", maximumLength: Int = 8192
        ) {
            self.keys = keys
            self.jwksFiles = jwksFiles
            self.issuer = issuer
            self.audience = audience
            self.leeway = leeway
            self.claim = claim
            self.maximumLength = maximumLength
        }
    }

    public let configuration: Configuration
    /// Key id to key, from the specs and the JWKS files.
    let keysByID: [String: VerificationKey]
    /// Every key in configuration order, for tokens without `kid`.
    let keys: [VerificationKey]
    /// ``Configuration/leeway`` in seconds.
    let leewaySeconds: Double

    /// Loads every key (reads the files) and has jwt-kit build each one's algorithm; throws an
    /// ``AuthConfigurationError`` naming the spec or file. A key id configured twice is an error, so a token's
    /// `kid` always means one key. Async only because jwt-kit's `JWTKeyCollection` is an actor; ``verify(_:now:)``
    /// is synchronous.
    public init(_ configuration: Configuration) async throws(AuthConfigurationError) {
        let keys = try await VerificationKey.building(Self.load(configuration))
        self.configuration = configuration
        self.keys = keys
        self.keysByID = Dictionary(uniqueKeysWithValues: keys.map { ($0.keyID, $0) })
        let (seconds, attoseconds) = configuration.leeway.components
        self.leewaySeconds = Double(seconds) + Double(attoseconds) / 1e18
    }

    /// Reads and checks everything ``init(_:)`` does, with the same errors, without building jwt-kit's algorithms:
    /// for settings validation, which cannot await.
    public static func validate(_ configuration: Configuration) throws(AuthConfigurationError) {
        _ = try load(configuration)
    }

    /// The keys of the specs and JWKS files, read and checked, in configuration order.
    static func load(_ configuration: Configuration) throws(AuthConfigurationError) -> [LoadedKey] {
        var keys: [LoadedKey] = []
        for spec in configuration.keys { keys.append(try LoadedKey(verifying: spec)) }
        for file in configuration.jwksFiles { keys.append(contentsOf: try LoadedKey.loading(jwksFile: file)) }
        var keyIDs: Set<String> = []
        for key in keys {
            guard keyIDs.insert(key.keyID).inserted else {
                throw AuthConfigurationError("key id \(key.keyID) is configured twice: each key needs its own id")
            }
        }
        guard configuration.maximumLength > 0 else {
            throw AuthConfigurationError("the longest token must be a positive number of bytes")
        }
        guard configuration.leeway >= .zero else { throw AuthConfigurationError("the leeway must not be negative") }
        return keys
    }

    /// Whether any key is configured; without one, every topic is public.
    public var hasKeys: Bool { !keys.isEmpty }

    /// The configured key ids, in configuration order.
    public var keyIDs: [String] { keys.map(\.keyID) }

    /// Checks, in this order: length, shape, header (`alg`, `kid`, `crit`), signature, then the claims (`exp`,
    /// `nbf`, `iat`, `iss`, `aud`, `sub`, `jti`, grants). The payload is parsed only once the signature verifies.
    public func verify(_ token: String, now: Date) throws(TokenRejection) -> AccessToken {
        let bytes = Array(token.utf8)
        guard !bytes.isEmpty else { throw .missing }
        guard bytes.count <= configuration.maximumLength else { throw .tooLarge(limit: configuration.maximumLength) }
        let parts = try CompactParts(bytes)
        let header = try Self.header(parts)
        let candidates = try self.candidates(for: header)
        guard let signature = Base64URL.decode(parts.signature) else {
            throw .malformed("the signature is not base64url")
        }
        guard candidates.contains(where: { $0.isValidSignature(signature, for: parts.signingInput) }) else {
            throw .badSignature
        }
        guard let payloadBytes = Base64URL.decode(parts.payload) else {
            throw .malformed("the payload is not base64url")
        }
        guard let payload = JSONValue.parse(payloadBytes)?.object else {
            throw .malformed("the payload is not a JSON object")
        }
        return try claims(payload, now: now)
    }

    /// The keys that may have signed a token with this header: the one its `kid` names (whose algorithm must be
    /// the header's), or without `kid` every key configured with the header's algorithm (during a rotation two
    /// keys are valid at once, and a token that names neither is tried against both).
    func candidates(for header: Header) throws(TokenRejection) -> [VerificationKey] {
        if let kid = header.keyID {
            guard let key = keysByID[kid] else { throw .unknownKey(kid) }
            guard header.algorithm == key.algorithm.rawValue else {
                throw .algorithm(
                    "algorithm \(Self.shown(header.algorithm)) is not the one configured for key "
                        + "\(key.keyID) (\(key.algorithm))")
            }
            return [key]
        }
        let matching = keys.filter { $0.algorithm.rawValue == header.algorithm }
        guard !matching.isEmpty else {
            throw .algorithm("algorithm \(Self.shown(header.algorithm)) is not configured for any key")
        }
        return matching
    }

    /// An algorithm name from a token as it appears in a message: bare when it looks like one, quoted otherwise.
    static func shown(_ algorithm: String) -> String {
        let plain =
            (1...16).contains(algorithm.utf8.count)
            && algorithm.utf8.allSatisfy { Base64URL.sextet($0).map { $0 < 62 } ?? false }
        return plain ? algorithm : Quoting.quoted(algorithm)
    }
}
