import Crypto
import CryptoExtras
import Foundation
import JWTKit

/// One configured key, ready to check signatures synchronously: the gateway verifies on its event loops, so this
/// holds the `JWTAlgorithm` jwt-kit built for the key when the configuration was loaded (see
/// ``LoadedKey/algorithms(_:)``) and calls it directly, with no actor and no lock.
struct VerificationKey: Sendable {
    let keyID: String
    /// From configuration; a token's `alg` must equal it (and jwt-kit's algorithm carries the same name).
    let algorithm: SigningAlgorithm
    /// jwt-kit's HMAC, RSASSA-PKCS1-v1_5 SHA-256, ECDSA P-256 (R || S, RFC 7518 §3.4) or Ed25519 check.
    let check: any JWTAlgorithm

    /// Whether `signature` signs `input` (the token's `header.payload` bytes) under this key's algorithm. jwt-kit
    /// compares HMACs in constant time; a signature it cannot even parse (an ECDSA one of the wrong length) throws,
    /// which is a bad signature too.
    func isValidSignature(_ signature: [UInt8], for input: ArraySlice<UInt8>) -> Bool {
        (try? check.verify(signature, signs: input)) ?? false
    }

    /// jwt-kit's algorithms for the loaded keys, in order.
    static func building(_ keys: [LoadedKey]) async throws(AuthConfigurationError) -> [VerificationKey] {
        let checks = try await LoadedKey.algorithms(keys)
        return zip(keys, checks).map { VerificationKey(keyID: $0.keyID, algorithm: $0.algorithm, check: $1) }
    }
}

extension LoadedKey {
    /// Reads the spec's file for verification: the secret for HS*, a public (or private) key PEM otherwise.
    init(verifying spec: KeySpec) throws(AuthConfigurationError) {
        let contents = try KeyFile.read(spec)
        let material: Material
        switch spec.algorithm {
        case .hs256, .hs384, .hs512:
            material = .hmac(HMACKey(key: try KeyFile.secret(contents, spec)))
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
            material = .rsa(try KeyFile.jwtKit(spec) { try Insecure.RSA.PublicKey(backing: key) })
        case .es256:
            let pem = try KeyFile.pem(contents, spec)
            let key: P256.Signing.PublicKey
            if let found = try? P256.Signing.PublicKey(pemRepresentation: pem) {
                key = found
            } else if let found = try? P256.Signing.PrivateKey(pemRepresentation: pem) {
                key = found.publicKey
            } else {
                throw KeyFile.wrongType(spec, "a P-256 public or private key")
            }
            material = .ecdsa(try KeyFile.jwtKit(spec) { try ES256PublicKey(backing: key) })
        case .edDSA:
            let pem = try KeyFile.pem(contents, spec)
            if let key = try? Curve25519.Signing.PublicKey(pemRepresentation: pem) {
                material = .eddsa(EdDSA.PublicKey(backing: key))
            } else if let key = try? Curve25519.Signing.PrivateKey(pemRepresentation: pem) {
                material = .eddsa(EdDSA.PublicKey(backing: key.publicKey))
            } else {
                throw KeyFile.wrongType(spec, "an Ed25519 public or private key")
            }
        }
        self.init(keyID: spec.keyID, algorithm: spec.algorithm, material: material)
    }
}
