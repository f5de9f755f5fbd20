import Foundation

/// The files shipped with the service in `Resources/` (copied into the `…_Publisher.resources` bundle beside the
/// binary): the Mustache templates and `engine.js`.
///
/// A deployment must copy that bundle directory next to `sse-publisher`; the service checks at start that it is
/// there and says where it looked, rather than failing on the first request.
public enum PublisherResources {
    /// The `Resources` directory inside the bundle.
    static func directory() throws -> String {
        let path = Bundle.module.bundleURL.appendingPathComponent("Resources").path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw PublisherResourcesError(
                "resource directory \(path) is missing: ship the Publisher bundle beside the binary")
        }
        return path
    }

    /// The text of `engine.js`, the page's client.
    public static func engineScript() throws -> String { try script("engine.js") }

    /// The text of `dashboard.js`, the live part of `/dashboard`.
    static func dashboardScript() throws -> String { try script("dashboard.js") }

    static func script(_ name: String) throws -> String {
        let path = try directory() + "/" + name
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw PublisherResourcesError("cannot read \(path): \(error.localizedDescription)")
        }
    }

    /// A short fingerprint of `text` (FNV-1a, 64 bits, hex): the page asks for `/engine.js?v=<it>`, so a browser
    /// may cache the script for good and still picks up a new one after a deploy.
    static func fingerprint(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// A resource the service ships with is missing or unreadable.
struct PublisherResourcesError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}
