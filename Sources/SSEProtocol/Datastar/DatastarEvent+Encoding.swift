import NIOCore

/// The ADR's wire layout. Every event is
///
/// ```
/// event: datastar-patch-elements | datastar-patch-signals
/// id: <eventID>                      (only when given)
/// retry: <retryDuration>             (only when given and not 1000)
/// data: <key> <value>                (one line per option that is not the default, then the payload lines)
///
/// ```
/// Payload lines carry one line of the HTML, JSON or script each (split on CRLF, CR and LF, since a bare CR would
/// otherwise end the SSE line). Option lines: patch elements writes `selector`, `mode`, `useViewTransition`, then
/// `elements`; execute script writes `mode append`, `selector body`, then the script element, as in the ADR's
/// examples and the upstream golden files. Datastar reads the lines of an event by key, so their order between
/// keys does not change the meaning; within a key, order is the content's.
extension DatastarEvent {
    public static let patchElementsEventName = "datastar-patch-elements"
    public static let patchSignalsEventName = "datastar-patch-signals"

    /// Appends the event's SSE frame, blank line included.
    public func encode(into buffer: inout ByteBuffer) {
        switch self {
        case .patchElements(let patch):
            Self.writeHead(Self.patchElementsEventName, patch.eventID, patch.retryDuration, into: &buffer)
            if let selector = patch.selector { buffer.writeDataLines(selector, prefix: "selector ") }
            if patch.mode != .outer { buffer.writeDataLines(patch.mode.rawValue, prefix: "mode ") }
            if patch.useViewTransition { buffer.writeStaticString("data: useViewTransition true\n") }
            if let elements = patch.elements, !elements.isEmpty {
                buffer.writeDataLines(elements, prefix: "elements ")
            }
        case .patchSignals(let patch):
            Self.writeHead(Self.patchSignalsEventName, patch.eventID, patch.retryDuration, into: &buffer)
            if patch.onlyIfMissing { buffer.writeStaticString("data: onlyIfMissing true\n") }
            buffer.writeDataLines(patch.signals, prefix: "signals ")
        case .executeScript(let script):
            Self.writeHead(Self.patchElementsEventName, script.eventID, script.retryDuration, into: &buffer)
            buffer.writeStaticString("data: mode append\ndata: selector body\n")
            var element = "<script"
            for attribute in script.attributes { element += " " + attribute }
            if script.autoRemove { element += #" data-effect="el.remove()""# }
            element += ">" + script.script + "</script>"
            buffer.writeDataLines(element, prefix: "elements ")
        }
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    /// The event's SSE frame as text.
    public var text: String {
        var buffer = ByteBuffer()
        encode(into: &buffer)
        return String(buffer: buffer)
    }

    private static func writeHead(_ name: String, _ eventID: String?, _ retry: Int?, into buffer: inout ByteBuffer) {
        buffer.writeEventField("event", name)
        if let eventID, !eventID.isEmpty { buffer.writeEventField("id", eventID) }
        if let retry, retry != defaultRetryDuration { buffer.writeEventField("retry", String(retry)) }
    }
}
