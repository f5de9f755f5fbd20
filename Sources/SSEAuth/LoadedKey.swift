import JWTKit

/// A configured key read from its file (or JWKS entry) and checked, in jwt-kit's key types: the step before
/// jwt-kit builds its algorithm.
///
/// Reading and checking is synchronous, so settings validation (which cannot await) reports a bad key file with the
/// same message as loading does; only ``algorithms(_:)``, which goes through jwt-kit's `JWTKeyCollection` actor,
/// is async.
struct LoadedKey: Sendable {
    /// The key as jwt-kit takes it: a secret, or the public half (verification) or private key (minting) of a pair.
    enum Material: Sendable {
        case hmac(HMACKey)
        case rsa(any RSAKey)
        /// P-256 only (the loaders build `ES256PublicKey` or `ES256PrivateKey`); ``algorithms(_:)`` checks the
        /// name jwt-kit gives it.
        case ecdsa(any ECDSAKey)
        case eddsa(any EdDSAKey)
    }

    let keyID: String
    /// From configuration; jwt-kit's algorithm for the key must carry this name.
    let algorithm: SigningAlgorithm
    let material: Material

    /// jwt-kit's algorithm for each key, in order, taken once from one `JWTKeyCollection` holding all of them under
    /// their key ids. The algorithms sign and verify synchronously and hold no state but the key, so they are kept
    /// and called directly (the gateway verifies on its event loops; an actor hop per stream request would cost a
    /// context switch for nothing). The key ids must be distinct: the collection would keep only the last of two.
    static func algorithms(_ keys: [LoadedKey]) async throws(AuthConfigurationError) -> [any JWTAlgorithm] {
        let collection = JWTKeyCollection()
        for key in keys {
            let kid = JWKIdentifier(string: key.keyID)
            switch (key.material, key.algorithm) {
            case (.hmac(let secret), .hs384): await collection.add(hmac: secret, digestAlgorithm: .sha384, kid: kid)
            case (.hmac(let secret), .hs512): await collection.add(hmac: secret, digestAlgorithm: .sha512, kid: kid)
            case (.hmac(let secret), _): await collection.add(hmac: secret, digestAlgorithm: .sha256, kid: kid)
            case (.rsa(let pair), _): await collection.add(rsa: pair, digestAlgorithm: .sha256, kid: kid)
            case (.ecdsa(let pair), _): await collection.add(ecdsa: pair, kid: kid)
            case (.eddsa(let pair), _): await collection.add(eddsa: pair, kid: kid)
            }
        }
        var algorithms: [any JWTAlgorithm] = []
        for key in keys {
            let algorithm: any JWTAlgorithm
            do {
                algorithm = try await collection.getKey(for: JWKIdentifier(string: key.keyID))
            } catch {
                throw AuthConfigurationError("key \(key.keyID) (\(key.algorithm)): jwt-kit has no algorithm for it")
            }
            // The loaders pick the key type from the configured algorithm; a mismatch here is a bug in them, and
            // would check tokens with another algorithm than the one configured.
            precondition(
                algorithm.name == key.algorithm.rawValue,
                "jwt-kit built \(algorithm.name) for key \(key.keyID), configured as \(key.algorithm)")
            algorithms.append(algorithm)
        }
        return algorithms
    }
}
