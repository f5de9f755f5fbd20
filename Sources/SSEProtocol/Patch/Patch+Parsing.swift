import NIOCore

/// Reading a patch back from the seed protocol's JSON, and the rule for which events are patches.
///
/// **An event is a patch** when it has no event name and its data is a JSON object (RFC 8259, strictly: valid UTF-8,
/// no duplicate member names) whose members are only `html` and/or `js`, each at most once, where
/// - `html` is an object mapping element ids to strings of HTML. An element id is 1–64 bytes with no ASCII
///   whitespace and no control characters (so it is a valid HTML id and a valid SSE event name for htmx);
/// - `js` is an object; its `exec` member, if any, is a string of code; every other member is a variable with a
///   non-empty name and any JSON value, kept as compact JSON text (whitespace outside strings removed);
/// - together they hold at least one entry (`{}`, `{"html":{}}` are not patches).
///
/// Anything else, including a named event whose data looks like a patch, is a plain event: every dialect sends it
/// byte-identical to the engine dialect. Member order is kept: fragments and variables are listed in the order they
/// were published.
extension Patch {
    /// Why a text is not a patch, as one line naming what was found and what was expected.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public let message: String

        public var description: String { message }

        init(_ message: String) {
            self.message = message
        }
    }

    /// The patch an event carries, or nil for a plain event (see the rule above).
    public init?(event: ServerSentEvent) {
        guard event.event == nil else { return nil }
        let parsed: Patch? = event.data.withUnsafeReadableBytes { bytes in
            // Cheap early exit: most plain events do not start with `{`.
            guard let first = bytes.first(where: { !Self.isJSONWhitespace($0) }), first == UInt8(ascii: "{"),
                let value = try? JSONValue.parse(bytes: bytes)
            else { return nil }
            return try? Patch(value)
        }
        guard let parsed else { return nil }
        self = parsed
    }

    /// Parses the seed protocol's JSON text; throws a one-line reason when it is not a patch.
    public init(parsing json: String) throws(ParseError) {
        let value: JSONValue
        do {
            value = try JSONValue.parse(json)
        } catch {
            throw ParseError("patch is not valid JSON: \(error); expected {\"html\":{…},\"js\":{…}}")
        }
        try self.init(value)
    }

    init(_ value: JSONValue) throws(ParseError) {
        guard let members = value.members else {
            throw ParseError("patch is not a JSON object: expected {\"html\":{…},\"js\":{…}}")
        }
        var patch = Patch()
        for member in members {
            switch member.key {
            case "html":
                guard let fragments = member.value.members else {
                    throw ParseError("patch member \"html\" is not an object: expected {\"elementId\":\"<html>\"}")
                }
                for fragment in fragments {
                    guard Self.isValidElementID(fragment.key) else {
                        throw ParseError(
                            "element id \(SSEProtocolError.quoted(fragment.key)) is invalid: use 1–64 bytes without "
                                + "whitespace or control characters")
                    }
                    guard case .string(let html) = fragment.value else {
                        throw ParseError(
                            "html for element \(SSEProtocolError.quoted(fragment.key)) is not a string: expected "
                                + "a string of HTML")
                    }
                    patch.html.append(Fragment(id: fragment.key, html: html))
                }
            case "js":
                guard let entries = member.value.members else {
                    throw ParseError(
                        "patch member \"js\" is not an object: expected {\"name\":value,\"exec\":\"code\"}")
                }
                for entry in entries {
                    if entry.key == "exec" {
                        guard case .string(let code) = entry.value else {
                            throw ParseError("js member \"exec\" is not a string: expected code to run")
                        }
                        patch.exec = code
                    } else {
                        guard !entry.key.isEmpty else {
                            throw ParseError("js variable name is empty: expected a name such as \"postCount\"")
                        }
                        patch.variables.append(Variable(name: entry.key, json: entry.value.compactText))
                    }
                }
            default:
                throw ParseError(
                    "patch has member \(SSEProtocolError.quoted(member.key)): expected only \"html\" and \"js\"")
            }
        }
        guard !patch.isEmpty else {
            throw ParseError("patch is empty: expected at least one html fragment, js variable or exec")
        }
        self = patch
    }

    /// Longest element id accepted, in UTF-8 bytes (the SSE event name limit, since htmx uses ids as names).
    public static let maximumElementIDLength = EventName.maximumLength

    /// 1–64 bytes, no ASCII whitespace (HTML's rule for ids), no control characters (they cannot go in an
    /// `event:` line or a selector unescaped).
    public static func isValidElementID(_ id: String) -> Bool {
        let bytes = id.utf8
        guard !bytes.isEmpty, bytes.count <= maximumElementIDLength else { return false }
        return !bytes.contains { $0 <= 0x20 || $0 == 0x7F }
    }

    @inline(__always)
    private static func isJSONWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n")
            || byte == UInt8(ascii: "\r")
    }
}
