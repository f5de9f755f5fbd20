import SSEProtocol
import ServerSupport

/// A checked body of `POST /publish`: a topic and either a plain event or a patch.
///
/// ```json
/// {"topic": "news", "event": "note", "data": "hello"}
/// {"topic": "board", "html": {"posts": "<li>…</li>"}, "js": {"postCount": 3, "exec": "console.log(1)"}}
/// ```
///
/// A plain event is `data` (a string) with an optional `event` name. A patch is `html` (element id → HTML
/// string) and/or `js` (name → any JSON value, `exec` → code); it is published with no event name and the seed
/// protocol's JSON as data, which is what makes the gateway treat it as a patch and translate it per dialect
/// (see `Patch(event:)`), so a patch cannot carry an event name and cannot be mixed with `data`. Element ids
/// follow `Patch.isValidElementID` (the gateway's own rule), so every patch accepted here is one the gateway reads
/// as a patch.
struct PublishRequest: Sendable, Equatable {
    enum Content: Sendable, Equatable {
        case event(name: EventName?, data: String)
        case patch(Patch)
    }

    /// Largest body accepted, in bytes; more is 413.
    static let maximumBodyBytes = 64 * 1024

    static let members = ["topic", "event", "data", "html", "js"]

    var topic: Topic
    var content: Content

    /// The event name to publish with (none for a patch).
    var eventName: String? {
        if case .event(let name, _) = content { return name?.value }
        return nil
    }

    /// The `data:` to publish: the event's data, or the patch as the seed protocol's JSON.
    var data: String {
        switch content {
        case .event(_, let data): return data
        case .patch(let patch): return patch.json()
        }
    }

    /// Parses and checks a body: malformed JSON is ``PublishRequestError/malformed(_:)`` (400), anything else
    /// wrong is ``PublishRequestError/invalid(_:)`` (422), each with one line naming the member.
    init(body: [UInt8]) throws(PublishRequestError) {
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes: body, options: .publisher)
        } catch {
            throw .malformed(error.description)
        }
        guard let members = value.members else {
            throw .invalid("body is \(value.kind): expected a JSON object such as {\"topic\":\"news\",\"data\":\"hi\"}")
        }
        var seen = Set<String>()
        for member in members {
            guard Self.members.contains(member.key) else {
                throw .invalid(
                    "unknown member \(PublisherError.quoted(member.key)): expected topic, event, data, html or js")
            }
            guard seen.insert(member.key).inserted else { throw .invalid("member \"\(member.key)\" is given twice") }
        }

        guard let topicValue = value["topic"] else { throw .invalid("missing topic: give \"topic\": \"NAME\"") }
        guard let topicName = topicValue.stringValue else {
            throw .invalid("topic is \(topicValue.kind): expected a string such as \"news\"")
        }
        do {
            topic = try Topic(validating: topicName)
        } catch {
            throw .invalid(error.description)
        }

        let event = value["event"]
        let data = value["data"]
        let html = value["html"]
        let js = value["js"]
        if html != nil || js != nil {
            guard data == nil else {
                throw .invalid(
                    "data cannot be combined with html or js: publish a plain event (data, event) or a patch (html, js)"
                )
            }
            guard event == nil || event == .null else {
                throw .invalid("event cannot be combined with html or js: a patch is published without an event name")
            }
            content = .patch(try Self.patch(html: html, js: js))
        } else if let data {
            guard let text = data.stringValue else {
                throw .invalid("data is \(data.kind): expected a string (send JSON as text, e.g. \"{\\\"a\\\":1}\")")
            }
            content = .event(name: try Self.eventName(event), data: text)
        } else {
            throw .invalid("nothing to publish: give data (a plain event) or html and/or js (a patch)")
        }
    }

    private static func eventName(_ value: JSONValue?) throws(PublishRequestError) -> EventName? {
        guard let value, value != .null else { return nil }
        guard let name = value.stringValue else {
            throw .invalid("event is \(value.kind): expected a string such as \"update\"")
        }
        do {
            return try EventName(validating: name)
        } catch {
            throw .invalid(error.description)
        }
    }

    private static func patch(html: JSONValue?, js: JSONValue?) throws(PublishRequestError) -> Patch {
        var patch = Patch()
        if let html {
            guard let fragments = html.members, !fragments.isEmpty else {
                throw .invalid(
                    "html is \(html.members == nil ? html.kind : "empty"): expected an object of element id to HTML, "
                        + "e.g. {\"posts\":\"<li>hi</li>\"}")
            }
            var ids = Set<String>()
            for fragment in fragments {
                let id = PublisherError.quoted(fragment.key)
                guard Patch.isValidElementID(fragment.key) else {
                    throw .invalid(
                        "html id \(id) is invalid: use 1–\(Patch.maximumElementIDLength) bytes without whitespace or "
                            + "control characters")
                }
                guard ids.insert(fragment.key).inserted else { throw .invalid("html id \(id) is given twice") }
                guard let markup = fragment.value.stringValue else {
                    throw .invalid("html[\(id)] is \(fragment.value.kind): expected a string of HTML")
                }
                patch.html.append(.init(id: fragment.key, html: markup))
            }
        }
        if let js {
            guard let entries = js.members, !entries.isEmpty else {
                throw .invalid(
                    "js is \(js.members == nil ? js.kind : "empty"): expected an object such as "
                        + "{\"postCount\":3,\"exec\":\"code\"}")
            }
            var names = Set<String>()
            for entry in entries {
                let name = PublisherError.quoted(entry.key)
                guard !entry.key.isEmpty else {
                    throw .invalid("js has an empty name: expected a variable name or exec")
                }
                guard names.insert(entry.key).inserted else { throw .invalid("js name \(name) is given twice") }
                if entry.key == "exec" {
                    guard let code = entry.value.stringValue else {
                        throw .invalid("js.exec is \(entry.value.kind): expected a string of JavaScript")
                    }
                    patch.exec = code
                } else {
                    // Gateways parse patches strictly: a value repeating a member name inside would make the whole
                    // patch a plain event there, so it is refused here.
                    let json = entry.value.compactText
                    guard (try? JSONValue.parse(json)) != nil else {
                        throw .invalid("js \(name) repeats a member name inside its value: each name once per object")
                    }
                    patch.variables.append(.init(name: entry.key, json: json))
                }
            }
        }
        return patch
    }
}

/// Why a publish body was refused.
enum PublishRequestError: Error, Equatable, CustomStringConvertible {
    /// Not JSON (400).
    case malformed(String)
    /// JSON, but not a valid publish request (422).
    case invalid(String)

    var description: String {
        switch self {
        case .malformed(let message), .invalid(let message): return message
        }
    }
}
