import NIOCore
import SSEProtocol

/// Datastar's public SDK test protocol: the body of a test request (the `datastar` query parameter of a `GET`, or
/// the JSON body of a `POST`) lists events to send, and the answer is exactly the SSE the SDK ADR specifies for them,
/// one after another. The upstream suite (`sdk/tests` in starfederation/datastar) checks SDKs this way.
///
/// ```json
/// {"events": [{"type": "patchElements", "elements": "<div id=\"a\">hi</div>", "mode": "inner", "eventId": "1"}]}
/// ```
///
/// Event types and their members (`type` aside; a `null` member counts as absent):
/// - `patchElements`: `elements`, `selector`, `mode` (`outer` `inner` `replace` `prepend` `append` `before` `after`
///   `remove`), `useViewTransition`;
/// - `removeElements`: `selector` and/or `elements`, `useViewTransition` — a patch with mode `remove`;
/// - `patchSignals`: `signals` (a JSON object, sent compact with its members in order) or `signals-raw` (JSON text
///   sent line by line as is; preferred when both are present), `onlyIfMissing`;
/// - `removeSignals`: `paths`, dot-separated signal paths (`"user.name"`), sent as a signals patch setting each to
///   `null` (a path inside one already removed is dropped);
/// - `executeScript`: `script`, `autoRemove`, `attributes` (an object of string values, written `name="value"` with
///   `&` and `"` escaped, or an array of attribute strings written as they are);
/// - every type: `eventId` (a string without line breaks) and `retryDuration` (a non-negative integer, milliseconds).
///
/// Members of the body other than `events` are ignored (the body is a Datastar signals object); anything else
/// unexpected is a ``DatastarSDKTestError``.
public enum DatastarSDKTest {
    /// The SSE body answering a test request whose signals are `json`.
    public static func response(forJSON json: String) throws(DatastarSDKTestError) -> String {
        var buffer = ByteBuffer()
        for event in try events(forJSON: json) { event.encode(into: &buffer) }
        return String(buffer: buffer)
    }

    /// The events a test request asks for, in order.
    public static func events(forJSON json: String) throws(DatastarSDKTestError) -> [DatastarEvent] {
        let body: JSONValue
        do {
            body = try JSONValue.parse(json)
        } catch {
            throw DatastarSDKTestError(
                "Datastar SDK test body is not valid JSON: \(error); expected {\"events\":[…]}")
        }
        guard case .array(let items)? = body["events"] else {
            throw DatastarSDKTestError(
                "Datastar SDK test body has no \"events\" array: expected {\"events\":[{\"type\":\"patchElements\",…}]}"
            )
        }
        var events: [DatastarEvent] = []
        for (index, item) in items.enumerated() {
            events.append(try EventReader(item, index: index).event())
        }
        return events
    }
}

/// Reads one entry of `events`, checking every member against its type's list.
private struct EventReader {
    let members: [JSONValue.Member]
    let path: String

    init(_ item: JSONValue, index: Int) throws(DatastarSDKTestError) {
        path = "events[\(index)]"
        guard let members = item.members else {
            throw DatastarSDKTestError(
                "\(path) is \(Self.shown(item)): expected an object such as {\"type\":\"patchElements\",…}")
        }
        self.members = members
    }

    static let types = ["patchElements", "removeElements", "patchSignals", "removeSignals", "executeScript"]

    func event() throws(DatastarSDKTestError) -> DatastarEvent {
        guard let type = try string("type") else {
            throw DatastarSDKTestError("\(path) has no \"type\": expected one of \(Self.types.joined(separator: ", "))")
        }
        switch type {
        case "patchElements":
            try allow(["elements", "selector", "mode", "useViewTransition"])
            return .patchElements(
                DatastarEvent.PatchElements(
                    elements: try string("elements"), selector: try selector(), mode: try mode() ?? .outer,
                    useViewTransition: try bool("useViewTransition") ?? false, eventID: try eventID(),
                    retryDuration: try retryDuration()))
        case "removeElements":
            try allow(["elements", "selector", "useViewTransition"])
            let selector = try selector()
            let elements = try string("elements")
            guard selector != nil || !(elements ?? "").isEmpty else {
                throw DatastarSDKTestError("\(path) (removeElements) has neither \"selector\" nor \"elements\"")
            }
            return .patchElements(
                DatastarEvent.PatchElements(
                    elements: elements, selector: selector, mode: .remove,
                    useViewTransition: try bool("useViewTransition") ?? false, eventID: try eventID(),
                    retryDuration: try retryDuration()))
        case "patchSignals":
            try allow(["signals", "signals-raw", "onlyIfMissing"])
            let signals: String
            if let raw = try string("signals-raw") {
                signals = raw
            } else if let object = value("signals") {
                guard case .object = object else {
                    throw DatastarSDKTestError("\(path).signals is \(Self.shown(object)): expected a JSON object")
                }
                signals = object.compactText
            } else {
                throw DatastarSDKTestError("\(path) (patchSignals) has neither \"signals\" nor \"signals-raw\"")
            }
            return .patchSignals(
                DatastarEvent.PatchSignals(
                    signals: signals, onlyIfMissing: try bool("onlyIfMissing") ?? false, eventID: try eventID(),
                    retryDuration: try retryDuration()))
        case "removeSignals":
            try allow(["paths"])
            return .patchSignals(
                DatastarEvent.PatchSignals(
                    signals: try removalPatch(), eventID: try eventID(), retryDuration: try retryDuration()))
        case "executeScript":
            try allow(["script", "autoRemove", "attributes"])
            guard let script = try string("script") else {
                throw DatastarSDKTestError("\(path) (executeScript) has no \"script\": expected JavaScript")
            }
            return .executeScript(
                DatastarEvent.ExecuteScript(
                    script: script, autoRemove: try bool("autoRemove") ?? true, attributes: try attributes(),
                    eventID: try eventID(), retryDuration: try retryDuration()))
        default:
            throw DatastarSDKTestError(
                "\(path) has type \(SSEProtocolError.quoted(type)): expected one of "
                    + Self.types.joined(separator: ", "))
        }
    }

    // MARK: Members

    private func allow(_ specific: [String]) throws(DatastarSDKTestError) {
        let allowed = ["type"] + specific + ["eventId", "retryDuration"]
        for member in members where !allowed.contains(member.key) {
            throw DatastarSDKTestError(
                "\(path) has unknown member \(SSEProtocolError.quoted(member.key)): expected "
                    + allowed.joined(separator: ", "))
        }
    }

    /// A member's value; `null` counts as absent.
    private func value(_ key: String) -> JSONValue? {
        guard let value = members.first(where: { $0.key == key })?.value, value != .null else { return nil }
        return value
    }

    private func string(_ key: String) throws(DatastarSDKTestError) -> String? {
        guard let value = value(key) else { return nil }
        guard case .string(let text) = value else {
            throw DatastarSDKTestError("\(path).\(key) is \(Self.shown(value)): expected a string")
        }
        return text
    }

    private func bool(_ key: String) throws(DatastarSDKTestError) -> Bool? {
        guard let value = value(key) else { return nil }
        guard case .bool(let flag) = value else {
            throw DatastarSDKTestError("\(path).\(key) is \(Self.shown(value)): expected true or false")
        }
        return flag
    }

    private func selector() throws(DatastarSDKTestError) -> String? {
        guard let selector = try string("selector") else { return nil }
        guard !selector.contains(where: \.isNewline) else {
            throw DatastarSDKTestError(
                "\(path).selector \(SSEProtocolError.quoted(selector)) has a line break: expected one line")
        }
        return selector
    }

    private func mode() throws(DatastarSDKTestError) -> DatastarEvent.PatchMode? {
        guard let name = try string("mode") else { return nil }
        guard let mode = DatastarEvent.PatchMode(rawValue: name) else {
            throw DatastarSDKTestError(
                "\(path).mode \(SSEProtocolError.quoted(name)) is not a patch mode: expected "
                    + DatastarEvent.PatchMode.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return mode
    }

    private func eventID() throws(DatastarSDKTestError) -> String? {
        guard let id = try string("eventId") else { return nil }
        guard !id.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
            throw DatastarSDKTestError(
                "\(path).eventId \(SSEProtocolError.quoted(id)) has CR, LF or NUL: expected one line of text")
        }
        return id
    }

    private func retryDuration() throws(DatastarSDKTestError) -> Int? {
        guard let value = value("retryDuration") else { return nil }
        // Integral numbers in any JSON spelling (2000, 2000.0, 2e3) are accepted; nothing else.
        if case .number(let text) = value {
            if let integer = Int(text), integer >= 0 { return integer }
            if let number = Double(text), number >= 0, number <= Double(Int32.max), number.rounded() == number {
                return Int(number)
            }
        }
        throw DatastarSDKTestError(
            "\(path).retryDuration is \(Self.shown(value)): expected a non-negative whole number of milliseconds")
    }

    private func attributes() throws(DatastarSDKTestError) -> [String] {
        guard let value = value("attributes") else { return [] }
        switch value {
        case .object(let entries):
            var rendered: [String] = []
            for entry in entries {
                guard Self.isAttributeName(entry.key) else {
                    throw DatastarSDKTestError(
                        "\(path).attributes has name \(SSEProtocolError.quoted(entry.key)): expected an HTML attribute "
                            + "name (no spaces, quotes, '>', '/' or '=')")
                }
                guard case .string(let text) = entry.value else {
                    throw DatastarSDKTestError(
                        "\(path).attributes.\(entry.key) is \(Self.shown(entry.value)): expected a string")
                }
                rendered.append(entry.key + "=\"" + Self.escapedAttributeValue(text) + "\"")
            }
            return rendered
        case .array(let items):
            var rendered: [String] = []
            for (index, item) in items.enumerated() {
                guard case .string(let text) = item else {
                    throw DatastarSDKTestError(
                        "\(path).attributes[\(index)] is \(Self.shown(item)): expected a string such as "
                            + "\"type=\\\"module\\\"\"")
                }
                rendered.append(text)
            }
            return rendered
        default:
            throw DatastarSDKTestError(
                "\(path).attributes is \(Self.shown(value)): expected an object of strings or an array of strings")
        }
    }

    /// `paths` as a merge patch: each dot-separated path set to null, members in first-mention order.
    private func removalPatch() throws(DatastarSDKTestError) -> String {
        guard case .array(let items)? = value("paths"), !items.isEmpty else {
            throw DatastarSDKTestError(
                "\(path) (removeSignals) needs \"paths\": expected a non-empty array such as [\"user.name\"]")
        }
        var root: [JSONValue.Member] = []
        for (index, item) in items.enumerated() {
            guard case .string(let signal) = item else {
                throw DatastarSDKTestError("\(path).paths[\(index)] is \(Self.shown(item)): expected a string")
            }
            let segments = signal.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard !segments.contains(where: \.isEmpty) else {
                throw DatastarSDKTestError(
                    "\(path).paths[\(index)] \(SSEProtocolError.quoted(signal)) is not a signal path: expected names "
                        + "joined by dots, e.g. \"user.name\"")
            }
            Self.insertNull(segments[...], into: &root)
        }
        return JSONValue.object(root).compactText
    }

    private static func insertNull(_ path: ArraySlice<String>, into members: inout [JSONValue.Member]) {
        let key = path.first!
        let rest = path.dropFirst()
        if let position = members.firstIndex(where: { $0.key == key }) {
            if rest.isEmpty {
                members[position].value = .null  // removing the whole signal covers any deeper removal
            } else if case .object(var children) = members[position].value {
                insertNull(rest, into: &children)
                members[position].value = .object(children)
            }
        } else if rest.isEmpty {
            members.append(JSONValue.Member(key: key, value: .null))
        } else {
            var children: [JSONValue.Member] = []
            insertNull(rest, into: &children)
            members.append(JSONValue.Member(key: key, value: .object(children)))
        }
    }

    // MARK: Text

    /// HTML's attribute name rule, minus what would end the tag or the name.
    static func isAttributeName(_ name: String) -> Bool {
        !name.isEmpty
            && !name.unicodeScalars.contains { scalar in
                scalar.value <= 0x20 || scalar.value == 0x7F || "\"'>/=".unicodeScalars.contains(scalar)
            }
    }

    static func escapedAttributeValue(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }

    /// A value as it appears in messages: compact JSON, cut like other quoted inputs.
    static func shown(_ value: JSONValue) -> String {
        let text = value.compactText
        guard text.count > SSEProtocolError.maximumQuotedCharacters else { return text }
        return String(text.prefix(SSEProtocolError.maximumQuotedCharacters)) + "…"
    }
}
