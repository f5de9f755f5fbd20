import Crypto
import Foundation

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

    /// A swift-crypto key already checked, wrapped in jwt-kit's type (whose own checks it passes: jwt-kit refuses
    /// RSA keys under 2048 bits, as ``checkRSASize(_:_:)`` does first with a clearer message).
    static func jwtKit<Key>(_ spec: KeySpec, _ make: () throws -> Key) throws(AuthConfigurationError) -> Key {
        do {
            return try make()
        } catch {
            throw AuthConfigurationError(
                "key \(spec.keyID) (\(spec.algorithm)): jwt-kit refused the key in \(spec.path)")
        }
    }

    static func checkRSASize(_ bits: Int, _ spec: KeySpec) throws(AuthConfigurationError) {
        guard bits >= 2048 else {
            throw AuthConfigurationError(
                "key \(spec.keyID) (RS256): \(spec.path) holds a \(bits)-bit RSA key, expected at least 2048 bits")
        }
    }
}
