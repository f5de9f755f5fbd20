/// A seed-protocol patch: what the page should change, carried as JSON in an event's `data:`.
///
/// `{"html": {"posts": "<li>…</li>"}, "js": {"postCount": 3, "exec": "notify('…')"}}` replaces the content of the
/// element with id `posts`, sets `window.postCount = 3`, then runs the code. Entries keep the order they were
/// published in (dialects that emit one event per entry emit them in that order). `exec` is the one reserved name
/// under `js`: it is code to run, never a variable.
public struct Patch: Sendable, Equatable {
    /// New inner HTML for the element with this id.
    public struct Fragment: Sendable, Equatable {
        public var id: String
        public var html: String

        public init(id: String, html: String) {
            self.id = id
            self.html = html
        }
    }

    /// `window[name] = value`, the value kept as JSON text (a number, string, object, array, bool or null).
    public struct Variable: Sendable, Equatable {
        public var name: String
        public var json: String

        public init(name: String, json: String) {
            self.name = name
            self.json = json
        }
    }

    public var html: [Fragment]
    public var variables: [Variable]
    public var exec: String?

    public init(html: [Fragment] = [], variables: [Variable] = [], exec: String? = nil) {
        self.html = html
        self.variables = variables
        self.exec = exec
    }

    public var isEmpty: Bool { html.isEmpty && variables.isEmpty && exec == nil }

    /// The patch as the seed protocol's JSON text, members in order (`html` first, then `js` with `exec` last).
    public func json() -> String {
        var out = "{"
        if !html.isEmpty {
            out += "\"html\":{"
            for (index, fragment) in html.enumerated() {
                if index > 0 { out += "," }
                JSONText.appendString(fragment.id, to: &out)
                out += ":"
                JSONText.appendString(fragment.html, to: &out)
            }
            out += "}"
        }
        if !variables.isEmpty || exec != nil {
            if !html.isEmpty { out += "," }
            out += "\"js\":{"
            var first = true
            for variable in variables {
                if !first { out += "," }
                first = false
                JSONText.appendString(variable.name, to: &out)
                out += ":" + variable.json
            }
            if let exec {
                if !first { out += "," }
                out += "\"exec\":"
                JSONText.appendString(exec, to: &out)
            }
            out += "}"
        }
        return out + "}"
    }
}

/// Writing JSON text without Foundation's encoder (which neither keeps member order nor avoids escaping `/`).
public enum JSONText {
    /// Appends `value` as a JSON string literal: quotes, backslash and control characters escaped, the rest as is.
    public static func appendString(_ value: String, to out: inout String) {
        out.unicodeScalars.append("\"")
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out.unicodeScalars.append("\"")
    }

    /// `value` as a JSON string literal.
    public static func string(_ value: String) -> String {
        var out = ""
        appendString(value, to: &out)
        return out
    }
}
