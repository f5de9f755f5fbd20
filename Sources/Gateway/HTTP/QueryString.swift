import PercentDecoding

/// `application/x-www-form-urlencoded` query parsing: repeated keys kept in order, `+` as space, percent-escapes
/// decoded (invalid escapes kept literally, invalid UTF-8 repaired).
struct QueryString {
    private(set) var pairs: [(name: String, value: String)] = []

    init(_ query: Substring) {
        for part in query.split(separator: "&", omittingEmptySubsequences: true) {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.decode(pieces[0])
            let value = pieces.count > 1 ? Self.decode(pieces[1]) : ""
            pairs.append((name, value))
        }
    }

    func values(_ name: String) -> [String] {
        pairs.filter { $0.name == name }.map(\.value)
    }

    func first(_ name: String) -> String? {
        pairs.first { $0.name == name }?.value
    }

    /// Lenient, as a browser's address bar is: a malformed escape stays as written and invalid UTF-8 is repaired,
    /// so the topic or dialect check that follows names what the client sent.
    static func decode(_ text: Substring) -> String {
        PercentDecoder.decodeRepairing(text.utf8, plus: .space)
    }
}
