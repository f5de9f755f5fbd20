/// The JavaScript that the htmx and turbo dialects run for a patch's `js` part, as one self-removing `<script>`.
///
/// Neither htmx's SSE extension nor Turbo Streams can set a variable or run code by themselves, but both execute
/// `<script>` elements they insert (htmx evaluates scripts in swapped content; Turbo 7.2+ activates scripts in stream
/// templates). So the one documented way is a script element:
///
/// ```
/// <script>document.currentScript.remove();
/// window["postCount"] = 3;
/// notify('saved')
/// </script>
/// ```
///
/// It removes itself first (so it leaves nothing in the page however the code ends), then assigns the variables in
/// published order (JSON is a valid JavaScript expression), then runs `exec`. Each part starts on its own line so a
/// trailing `//` comment in `exec` cannot swallow the rest. Any `</script` in the code or values is written
/// `<\/script`, which means the same inside JavaScript strings, regular expressions and comments but cannot end the
/// element early.
enum PatchScript {
    /// The script element for the patch's variables and exec, or nil when it has neither.
    static func element(for patch: Patch) -> String? {
        guard !patch.variables.isEmpty || patch.exec != nil else { return nil }
        var code = "<script>document.currentScript.remove();"
        for variable in patch.variables {
            code += "\nwindow["
            JSONText.appendString(variable.name, to: &code)
            code += "] = " + variable.json + ";"
        }
        if let exec = patch.exec { code += "\n" + exec }
        return guarded(code + "\n") + "</script>"
    }

    /// `text` with every `</script` (any letter case) written `<\/script`.
    static func guarded(_ text: String) -> String {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 8 else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count)
        var index = 0
        var changed = false
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "<"), index + 7 < utf8.count, utf8[index + 1] == UInt8(ascii: "/"),
                isScriptWord(utf8[(index + 2)..<(index + 8)])
            {
                out += [UInt8(ascii: "<"), UInt8(ascii: "\\"), UInt8(ascii: "/")]
                index += 2
                changed = true
                continue
            }
            out.append(utf8[index])
            index += 1
        }
        return changed ? String(decoding: out, as: UTF8.self) : text
    }

    private static func isScriptWord(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.count == 6 && zip(bytes, "script".utf8).allSatisfy { $0 | 0x20 == $1 }
    }
}
