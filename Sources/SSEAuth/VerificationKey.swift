import Crypto
import CryptoExtras
import Foundation

/// One configured key, ready to check signatures synchronously: the gateway verifies on its event loops, so this
/// holds swift-crypto keys directly (no actor, no lock), built once when the configuration is loaded.
struct VerificationKey: Sendable {
    enum Material: Sendable {
        case hmac(SymmetricKey)
        case rsa(_RSA.Signing.PublicKey)
        case p256(P256.Signing.PublicKey)
        case ed25519(Curve25519.Signing.PublicKey)
    }

    let keyID: String
    /// From configuration; a token's `alg` must equal it.
    let algorithm: SigningAlgorithm
    let material: Material

    /// Whether `signature` signs `input` (the token's `header.payload` bytes) under this key's algorithm. HMACs are
    /// compared in constant time by swift-crypto.
    func isValidSignature(_ signature: [UInt8], for input: ArraySlice<UInt8>) -> Bool {
        switch (material, algorithm) {
        case (.hmac(let secret), .hs256):
            return HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: input, using: secret)
        case (.hmac(let secret), .hs384):
            return HMAC<SHA384>.isValidAuthenticationCode(signature, authenticating: input, using: secret)
        case (.hmac(let secret), .hs512):
            return HMAC<SHA512>.isValidAuthenticationCode(signature, authenticating: input, using: secret)
        case (.rsa(let key), _):
            return key.isValidSignature(
                _RSA.Signing.RSASignature(rawRepresentation: signature), for: SHA256.hash(data: input),
                padding: .insecurePKCS1v1_5)
        case (.p256(let key), _):
            // JWS carries R || S (64 bytes), not DER (RFC 7518 §3.4).
            guard let ecdsa = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(ecdsa, for: SHA256.hash(data: input))
        case (.ed25519(let key), _):
            return key.isValidSignature(signature, for: input)
        case (.hmac, _):
            return false
        }
    }
}

extension VerificationKey {
    /// Reads the spec's file: the secret for HS*, a public (or private) key PEM otherwise.
    init(loading spec: KeySpec) throws(AuthConfigurationError) {
        let contents = try KeyFile.read(spec)
        let material: Material
        switch spec.algorithm {
        case .hs256, .hs384, .hs512:
            material = .hmac(try KeyFile.secret(contents, spec))
        case .rs256:
            let pem = try KeyFile.pem(contents, spec)
            let key: _RSA.Signing.PublicKey
            if let found = try? _RSA.Signing.PublicKey(unsafePEMRepresentation: pem) {
                key = found
            } else if let found = try? _RSA.Signing.PrivateKey(unsafePEMRepresentation: pem) {
                key = found.publicKey
            } else {
                throw KeyFile.wrongType(spec, "an RSA public or private key")
            }
            try KeyFile.checkRSASize(key.keySizeInBits, spec)
            material = .rsa(key)
        case .es256:
            let pem = try KeyFile.pem(contents, spec)
            if let key = try? P256.Signing.PublicKey(pemRepresentation: pem) {
                material = .p256(key)
            } else if let key = try? P256.Signing.PrivateKey(pemRepresentation: pem) {
                material = .p256(key.publicKey)
            } else {
                throw KeyFile.wrongType(spec, "a P-256 public or private key")
            }
        case .edDSA:
            let pem = try KeyFile.pem(contents, spec)
            if let key = try? Curve25519.Signing.PublicKey(pemRepresentation: pem) {
                material = .ed25519(key)
            } else if let key = try? Curve25519.Signing.PrivateKey(pemRepresentation: pem) {
                material = .ed25519(key.publicKey)
            } else {
                throw KeyFile.wrongType(spec, "an Ed25519 public or private key")
            }
        }
        self.init(keyID: spec.keyID, algorithm: spec.algorithm, material: material)
    }
}

/// Reading key files, with messages that name the key and the file and never show their contents.
enum KeyFile {
    static func read(_ spec: KeySpec) throws(AuthConfigurationError) -> [UInt8] {
        try read(spec.path, what: "key \(spec.keyID) (\(spec.algorithm))")
    }

    /// The file's bytes; `what` starts the message (`key main (HS256)`, `JWKS file`).
    static func read(_ path: String, what: String) throws(AuthConfigurationError) -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw AuthConfigurationError("\(what): \(path) does not exist")
        }
        guard !isDirectory.boolValue, let data = FileManager.default.contents(atPath: path) else {
            throw AuthConfigurationError("\(what): \(path) cannot be read")
        }
        return [UInt8](data)
    }

    /// The HMAC secret: the file's bytes without one trailing line ending, at least the hash's size.
    static func secret(_ contents: [UInt8], _ spec: KeySpec) throws(AuthConfigurationError) -> SymmetricKey {
        var bytes = contents[...]
        if bytes.last == UInt8(ascii: "\n") { bytes = bytes.dropLast() }
        if bytes.last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
        guard bytes.count >= spec.algorithm.minimumSecretLength else {
            throw AuthConfigurationError(
                "key \(spec.keyID) (\(spec.algorithm)): the secret in \(spec.path) is \(bytes.count) bytes, "
                    + "expected at least \(spec.algorithm.minimumSecretLength)")
        }
        return SymmetricKey(data: bytes)
    }

    static func pem(_ contents: [UInt8], _ spec: KeySpec) throws(AuthConfigurationError) -> String {
        guard let text = String(validating: contents, as: UTF8.self), text.contains("-----BEGIN ") else {
            throw AuthConfigurationError("key \(spec.keyID) (\(spec.algorithm)): \(spec.path) is not a PEM file")
        }
        return text
    }

    static func wrongType(_ spec: KeySpec, _ expected: String) -> AuthConfigurationError {
        AuthConfigurationError("key \(spec.keyID) (\(spec.algorithm)): \(spec.path) does not hold \(expected) in PEM")
    }

    static func checkRSASize(_ bits: Int, _ spec: KeySpec) throws(AuthConfigurationError) {
        guard bits >= 2048 else {
            throw AuthConfigurationError(
                "key \(spec.keyID) (RS256): \(spec.path) holds a \(bits)-bit RSA key, expected at least 2048 bits")
        }
    }
}
