import Crypto
import CryptoExtras
import JWTKit

/// Keys from a JWKS file on disk (RFC 7517), for deployments whose identity provider publishes one.
///
/// Each key must carry `kid` and `alg`: the algorithm is configuration, so a key without one is refused here
/// instead of being tried with whatever a token asks for. Supported: `oct` (HS256/384/512, `k`), `RSA` (RS256,
/// `n`/`e`), `EC` (ES256, `crv` P-256, `x`/`y`) and `OKP` (EdDSA, `crv` Ed25519, `x`); private members are
/// ignored. A key whose `use` is not `sig` is refused, so an encryption key is never taken for a signing one.
extension LoadedKey {
    static func loading(jwksFile path: String) throws(AuthConfigurationError) -> [LoadedKey] {
        let contents = try KeyFile.read(path, what: "JWKS file")
        guard let members = JSONValue.parse(contents)?.object, case .array(let entries)? = members["keys"] else {
            throw AuthConfigurationError("JWKS file \(path) is not a JSON object with a \"keys\" array")
        }
        var keys: [LoadedKey] = []
        for (index, entry) in entries.enumerated() {
            keys.append(try LoadedKey(jwk: entry, number: index + 1, file: path))
        }
        return keys
    }

    init(jwk: JSONValue, number: Int, file: String) throws(AuthConfigurationError) {
        func failure(_ why: String) -> AuthConfigurationError {
            AuthConfigurationError("JWKS file \(file): key \(number) \(why)")
        }
        guard let members = jwk.object else { throw failure("is not a JSON object") }
        guard let keyID = members["kid"]?.string, KeySpec.isValidKeyID(keyID) else {
            throw failure("has no \"kid\" (1–64 characters without spaces)")
        }
        guard let name = members["alg"]?.string else {
            throw failure("(\(keyID)) has no \"alg\": the algorithm must come from configuration")
        }
        guard let algorithm = SigningAlgorithm(rawValue: name) else {
            throw failure("(\(keyID)) has unknown \"alg\" \(Quoting.quoted(name)): use \(SigningAlgorithm.listed)")
        }
        if let use = members["use"], use != .string("sig") {
            throw failure("(\(keyID)) has \"use\" other than \"sig\"")
        }
        func bytes(_ member: String) throws(AuthConfigurationError) -> [UInt8] {
            guard let text = members[member]?.string, let value = Base64URL.decode(text.utf8), !value.isEmpty else {
                throw failure("(\(keyID)) needs \"\(member)\" in base64url for \(algorithm)")
            }
            return value
        }
        func expect(_ member: String, _ value: String) throws(AuthConfigurationError) {
            guard members[member]?.string == value else {
                throw failure("(\(keyID)) needs \"\(member)\": \"\(value)\" for \(algorithm)")
            }
        }
        let material: Material
        switch algorithm {
        case .hs256, .hs384, .hs512:
            try expect("kty", "oct")
            let secret = try bytes("k")
            guard secret.count >= algorithm.minimumSecretLength else {
                throw failure(
                    "(\(keyID)): the secret is \(secret.count) bytes, expected at least "
                        + "\(algorithm.minimumSecretLength)")
            }
            material = .hmac(HMACKey(from: secret))
        case .rs256:
            try expect("kty", "RSA")
            let modulus = try bytes("n")
            let exponent = try bytes("e")
            guard let backing = try? _RSA.Signing.PublicKey(n: modulus, e: exponent),
                let key = try? Insecure.RSA.PublicKey(backing: backing)
            else {
                throw failure("(\(keyID)) has \"n\" and \"e\" that are not an RSA key of at least 2048 bits")
            }
            material = .rsa(key)
        case .es256:
            try expect("kty", "EC")
            try expect("crv", "P-256")
            let x = try bytes("x")
            let y = try bytes("y")
            guard x.count == 32, y.count == 32,
                let backing = try? P256.Signing.PublicKey(x963Representation: [0x04] + x + y),
                let key = try? ES256PublicKey(backing: backing)
            else { throw failure("(\(keyID)) has \"x\" and \"y\" that are not a P-256 point") }
            material = .ecdsa(key)
        case .edDSA:
            try expect("kty", "OKP")
            try expect("crv", "Ed25519")
            guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: try bytes("x")) else {
                throw failure("(\(keyID)) has an \"x\" that is not an Ed25519 public key")
            }
            material = .eddsa(EdDSA.PublicKey(backing: key))
        }
        self.init(keyID: keyID, algorithm: algorithm, material: material)
    }
}
