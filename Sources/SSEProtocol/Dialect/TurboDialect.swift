import NIOCore

/// Patches for Turbo Streams over SSE (`<turbo-stream-source src="/sse?topic=…&dialect=turbo">`): the whole patch
/// is one message event (no event name) holding one `<turbo-stream>` element per line.
///
/// ```
/// data: <turbo-stream action="update" target="posts"><template><li>first</li></template></turbo-stream>
///
/// ```
///
/// Each html fragment is an `update` of the element with that id (its content replaced), in published order. The `js`
/// part (variables and `exec`) follows as `<turbo-stream action="append" targets="body">` whose template holds a
/// self-removing script (see ``PatchScript``); Turbo 7.2 and later run scripts that stream actions insert. One event
/// per patch means Turbo applies it whole, and a reliable event's `id:` is on it. The target id is escaped as an
/// attribute value (`&`, `"`, `<`, `>`); the HTML is written as published.
enum TurboDialect {
    static func encode(_ patch: Patch, id: EventID?, into buffer: inout ByteBuffer) {
        var streams: [String] = []
        for fragment in patch.html {
            streams.append(
                #"<turbo-stream action="update" target=""# + escapedAttribute(fragment.id) + #""><template>"#
                    + fragment.html + "</template></turbo-stream>")
        }
        if let script = PatchScript.element(for: patch) {
            streams.append(
                #"<turbo-stream action="append" targets="body"><template>"# + script + "</template></turbo-stream>")
        }
        if let id {
            buffer.writeStaticString("id: ")
            id.write(into: &buffer)
            buffer.writeInteger(UInt8(ascii: "\n"))
        }
        buffer.writeDataLines(streams.joined(separator: "\n"))
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    static func escapedAttribute(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            default: out.append(character)
            }
        }
        return out
    }
}
