/// The JWS algorithms a key can be configured with (RFC 7518 names). A key has exactly one, chosen in
/// configuration; a token's `alg` header only has to agree with it, so no token can pick how it is checked.
public enum SigningAlgorithm: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case hs256 = "HS256"
    case hs384 = "HS384"
    case hs512 = "HS512"
    case rs256 = "RS256"
    case es256 = "ES256"
    case edDSA = "EdDSA"

    /// The JWS name, e.g. `HS256`.
    public var description: String { rawValue }

    /// Whether the key is a shared secret (an HMAC) rather than a key pair.
    public var isSymmetric: Bool {
        switch self {
        case .hs256, .hs384, .hs512: true
        case .rs256, .es256, .edDSA: false
        }
    }

    /// Shortest HMAC secret, in bytes: the hash's output size, as RFC 7518 §3.2 requires (a shorter secret
    /// weakens the MAC to its length). Zero for key pairs.
    public var minimumSecretLength: Int {
        switch self {
        case .hs256: 32
        case .hs384: 48
        case .hs512: 64
        case .rs256, .es256, .edDSA: 0
        }
    }

    /// The names in a message, e.g. `HS256, HS384, HS512, RS256, ES256 or EdDSA`.
    static var listed: String {
        let names = allCases.map(\.rawValue)
        return names.dropLast().joined(separator: ", ") + " or " + names.last!
    }
}

/// A key from configuration: `KID=ALG:PATH`, e.g. `main=HS256:/etc/sse/secret`, `rsa1=RS256:/etc/sse/rsa.pub.pem`,
/// `ec1=ES256:/etc/sse/ec.pub.pem`, `ed1=EdDSA:/etc/sse/ed.pub.pem`.
///
/// For verification, HS256/HS384/HS512 files hold the secret (one trailing newline ignored; at least the hash's
/// output size: 32, 48 or 64 bytes); RS256 (at least 2048 bits), ES256 (P-256) and EdDSA (Ed25519) files hold a
/// public key PEM, or a private key PEM whose public half is used. For minting (``TokenMinter``) the key pairs'
/// files must hold the private key. Parsing only splits the text; the file is read by whoever loads the key.
public struct KeySpec: Sendable, Equatable, CustomStringConvertible {
    /// The key id a token names in its `kid` header (1–64 characters, no spaces or control characters).
    public let keyID: String
    public let algorithm: SigningAlgorithm
    public let path: String

    public init(keyID: String, algorithm: SigningAlgorithm, path: String) {
        self.keyID = keyID
        self.algorithm = algorithm
        self.path = path
    }

    /// Splits `KID=ALG:PATH` at the first `=` and the first `:` after it (so a path may contain either).
    public init(parsing text: String) throws(AuthConfigurationError) {
        guard let equals = text.firstIndex(of: "="),
            let colon = text[text.index(after: equals)...].firstIndex(of: ":")
        else {
            throw AuthConfigurationError(
                "key \(Quoting.quoted(text)) is invalid: expected KID=ALG:PATH, e.g. main=HS256:/etc/sse/secret")
        }
        let keyID = String(text[..<equals])
        let name = String(text[text.index(after: equals)..<colon])
        let path = String(text[text.index(after: colon)...])
        guard Self.isValidKeyID(keyID) else {
            throw AuthConfigurationError(
                "key \(Quoting.quoted(text)) is invalid: its id must be 1–64 characters without spaces")
        }
        guard let algorithm = SigningAlgorithm(rawValue: name) else {
            throw AuthConfigurationError(
                "key \(keyID) has unknown algorithm \(Quoting.quoted(name)): use \(SigningAlgorithm.listed)")
        }
        guard !path.isEmpty else {
            throw AuthConfigurationError("key \(keyID) (\(algorithm)) has no file: expected KID=ALG:PATH")
        }
        self.init(keyID: keyID, algorithm: algorithm, path: path)
    }

    /// `KID=ALG:PATH`, as parsed.
    public var description: String { "\(keyID)=\(algorithm):\(path)" }

    /// Printable ASCII without spaces, so a key id is safe in a log line and a header.
    static func isValidKeyID(_ keyID: String) -> Bool {
        (1...64).contains(keyID.utf8.count) && keyID.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }
}
