import NIOCore

/// Patches for Datastar v1, encoded per its SDK ADR (see ``DatastarEvent``):
///
/// - each html fragment → `datastar-patch-elements` with `selector #<id>` and `mode inner` (the element's content is
///   morphed, matching the seed protocol's "replace the content of the element with this id");
/// - all js variables → one `datastar-patch-signals` whose signals object has a member per variable, in order (they
///   become Datastar signals of the same name, not `window` properties);
/// - `exec` → a patch-elements event appending `<script data-effect="el.remove()">` to `body`, which Datastar runs
///   and removes (any `</script` in the code is written `<\/script`).
///
/// Events come in that order (fragments in published order); a reliable event's `id:` is on the last one only. The
/// id in the selector is escaped like CSS's `CSS.escape`, so ids such as `1st` or `a.b` select the right element.
enum DatastarDialect {
    static func encode(_ patch: Patch, id: EventID?, into buffer: inout ByteBuffer) {
        var events: [DatastarEvent] = []
        for fragment in patch.html {
            events.append(
                .patchElements(.init(elements: fragment.html, selector: "#" + cssEscaped(fragment.id), mode: .inner)))
        }
        if !patch.variables.isEmpty {
            var signals = "{"
            for (index, variable) in patch.variables.enumerated() {
                if index > 0 { signals += "," }
                JSONText.appendString(variable.name, to: &signals)
                signals += ":" + variable.json
            }
            events.append(.patchSignals(.init(signals: signals + "}")))
        }
        if let exec = patch.exec {
            events.append(.executeScript(.init(script: PatchScript.guarded(exec))))
        }
        if let id, !events.isEmpty {
            let eventID = id.description
            switch events[events.count - 1] {
            case .patchElements(var event):
                event.eventID = eventID
                events[events.count - 1] = .patchElements(event)
            case .patchSignals(var event):
                event.eventID = eventID
                events[events.count - 1] = .patchSignals(event)
            case .executeScript(var event):
                event.eventID = eventID
                events[events.count - 1] = .executeScript(event)
            }
        }
        for event in events { event.encode(into: &buffer) }
    }

    /// CSSOM's `CSS.escape`: an identifier safe to put after `#` in a selector.
    static func cssEscaped(_ identifier: String) -> String {
        let scalars = Array(identifier.unicodeScalars)
        var out = ""
        for (index, scalar) in scalars.enumerated() {
            let value = scalar.value
            let isDigit = (0x30...0x39).contains(value)
            if value == 0 {
                out += "\u{FFFD}"
            } else if (0x01...0x1F).contains(value) || value == 0x7F || (index == 0 && isDigit)
                || (index == 1 && isDigit && scalars[0] == "-")
            {
                out += "\\" + String(value, radix: 16) + " "
            } else if index == 0 && scalars.count == 1 && scalar == "-" {
                out += "\\-"
            } else if value >= 0x80 || scalar == "-" || scalar == "_" || isDigit || (0x41...0x5A).contains(value)
                || (0x61...0x7A).contains(value)
            {
                out.unicodeScalars.append(scalar)
            } else {
                out += "\\"
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
