import Crypto
import CryptoExtras
import Foundation
import SSEAuth

/// Key material generated once per test process (RSA generation takes a moment), written to files by each test in
/// its own temporary directory.
struct KeyFixture: Sendable {
    static let shared = KeyFixture()

    let secret256: [UInt8]
    let secret384: [UInt8]
    let secret512: [UInt8]
    /// A second HS256 secret: the rotation's new key, and the wrong secret of a bad signature.
    let otherSecret256: [UInt8]
    let rsa: _RSA.Signing.PrivateKey
    let ec: P256.Signing.PrivateKey
    let otherEC: P256.Signing.PrivateKey
    let ed: Curve25519.Signing.PrivateKey

    init() {
        func secret(_ count: Int) -> [UInt8] {
            var generator = SystemRandomNumberGenerator()
            // Printable, so a file written with a trailing newline reads back the same.
            return (0..<count).map { _ in UInt8.random(in: 0x41...0x5A, using: &generator) }
        }
        secret256 = secret(32)
        secret384 = secret(48)
        secret512 = secret(64)
        otherSecret256 = secret(32)
        rsa = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
        ec = P256.Signing.PrivateKey()
        otherEC = P256.Signing.PrivateKey()
        ed = Curve25519.Signing.PrivateKey()
    }
}

/// A temporary directory of key files, removed when the test's body returns.
struct KeyDirectory {
    let path: String

    /// Runs `body` with a fresh directory and removes it afterwards, whatever `body` does.
    static func with<T>(_ body: (KeyDirectory) throws -> T) throws -> T {
        let path = NSTemporaryDirectory() + "sse-auth-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try body(KeyDirectory(path: path))
    }

    static func with<T>(_ body: (KeyDirectory) async throws -> T) async throws -> T {
        let path = NSTemporaryDirectory() + "sse-auth-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try await body(KeyDirectory(path: path))
    }

    /// Writes `bytes` to `name` and returns its path.
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let file = path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        try write(name, Array(text.utf8))
    }

    /// A key spec for a file written here.
    func spec(_ keyID: String, _ algorithm: String, _ name: String) throws -> KeySpec {
        try KeySpec(parsing: "\(keyID)=\(algorithm):\(path)/\(name)")
    }

    /// Writes every fixture key: `hs256`, `hs384`, `hs512`, `hs256-other` (with a trailing newline, as an editor
    /// saves it), the public and private PEMs `rsa.pub.pem`, `rsa.pem`, `ec.pub.pem`, `ec.pem`, `ec-other.pub.pem`,
    /// `ec-other.pem`, `ed.pub.pem`, `ed.pem`.
    func writeFixture(_ keys: KeyFixture = .shared) throws {
        try write("hs256", keys.secret256)
        try write("hs384", keys.secret384)
        try write("hs512", keys.secret512)
        try write("hs256-other", keys.otherSecret256 + [UInt8(ascii: "\n")])
        try write("rsa.pub.pem", keys.rsa.publicKey.pemRepresentation)
        try write("rsa.pem", keys.rsa.pemRepresentation)
        try write("ec.pub.pem", keys.ec.publicKey.pemRepresentation)
        try write("ec.pem", keys.ec.pemRepresentation)
        try write("ec-other.pub.pem", keys.otherEC.publicKey.pemRepresentation)
        try write("ec-other.pem", keys.otherEC.pemRepresentation)
        try write("ed.pub.pem", keys.ed.publicKey.pemRepresentation)
        try write("ed.pem", keys.ed.pemRepresentation)
    }
}

/// Fixed instants, so every time check is exact.
enum FixedTime {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static var seconds: Int { Int(now.timeIntervalSince1970) }
}

/// Grants from pattern texts that are known to be valid.
func grants(subscribe: [String] = [], publish: [String] = []) -> Grants {
    Grants(
        subscribe: try! TopicPatterns(validating: subscribe), publish: try! TopicPatterns(validating: publish))
}
