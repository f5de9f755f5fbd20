import NIOCore

/// Patches for htmx's SSE extension: one event per html fragment, named after the element id, with the HTML as data,
/// so `<div id="posts" sse-swap="posts">` swaps it in (with the element's own `hx-swap`, `innerHTML` by default).
///
/// ```
/// event: posts
/// data: <li>first</li>
/// data: <li>second</li>
///
/// ```
///
/// The `js` part (variables and `exec`) becomes one more event named ``scriptEventName`` carrying a self-removing
/// script element (see ``PatchScript``); a page that wants it declares one sink such as
/// `<div hidden sse-swap="sse-script" hx-swap="beforeend"></div>`. Fragments come first in published order, then the
/// script. A reliable event's `id:` is written on the last event of the group only.
enum HTMXDialect {
    /// The event name of the script event.
    static let scriptEventName = "sse-script"

    static func encode(_ patch: Patch, id: EventID?, into buffer: inout ByteBuffer) {
        let script = PatchScript.element(for: patch)
        let last = patch.html.count - (script == nil ? 1 : 0)
        for (index, fragment) in patch.html.enumerated() {
            writeEvent(name: fragment.id, data: fragment.html, id: index == last ? id : nil, into: &buffer)
        }
        if let script { writeEvent(name: scriptEventName, data: script, id: id, into: &buffer) }
    }

    private static func writeEvent(name: String, data: String, id: EventID?, into buffer: inout ByteBuffer) {
        if let id {
            buffer.writeStaticString("id: ")
            id.write(into: &buffer)
            buffer.writeInteger(UInt8(ascii: "\n"))
        }
        buffer.writeEventField("event", name)
        buffer.writeDataLines(data)
        buffer.writeInteger(UInt8(ascii: "\n"))
    }
}
