import LocalRedis
import NIOCore
import SSEProtocol
import Testing

/// Each dialect's exact frames for html fragments (one and multi-line), js variables, exec and plain events.
@Suite("Encoding patches in each dialect")
struct DialectEncodingTests {
    static let id = EventID(milliseconds: 1_700_000_000_000, sequence: 4)

    static func frame(_ dialect: Dialect, _ data: String, id: EventID? = Self.id, name: String? = nil) -> String {
        let event = ServerSentEvent(id: id, event: name.map { try! EventName(validating: $0) }, data: data)
        return String(buffer: dialect.frame(for: event))
    }

    static let html = #"{"html":{"posts":"<li>one</li>\n<li>two</li>","count":"2"}}"#
    static let variables = #"{"js":{"postCount":2,"user":{ "name" : "Ann" }}}"#
    static let exec = #"{"js":{"exec":"notify('saved')"}}"#
    static let everything =
        #"{"html":{"posts":"<li>one</li>\r\n<li>two</li>"},"js":{"postCount":2,"exec":"if (a) {\n  go()\n}"}}"#

    // MARK: engine

    @Test func engineSendsThePatchJSONAsPublished() {
        #expect(Self.frame(.engine, Self.html) == "id: 1700000000000-4\ndata: \(Self.html)\n\n")
        #expect(Self.frame(.engine, Self.variables, id: nil) == "data: \(Self.variables)\n\n")
    }

    // MARK: htmx

    @Test func htmxNamesOneEventPerFragmentAndPutsTheIDOnTheLast() {
        #expect(
            Self.frame(.htmx, Self.html)
                == "event: posts\ndata: <li>one</li>\ndata: <li>two</li>\n\n"
                + "id: 1700000000000-4\nevent: count\ndata: 2\n\n")
    }

    @Test func htmxRunsVariablesAndExecAsOneSelfRemovingScriptEvent() {
        #expect(
            Self.frame(.htmx, Self.variables)
                == "id: 1700000000000-4\nevent: sse-script\ndata: <script>document.currentScript.remove();\n"
                + "data: window[\"postCount\"] = 2;\ndata: window[\"user\"] = {\"name\":\"Ann\"};\ndata: </script>\n\n")
        #expect(
            Self.frame(.htmx, Self.exec, id: nil)
                == "event: sse-script\ndata: <script>document.currentScript.remove();\ndata: notify('saved')\n"
                + "data: </script>\n\n")
        #expect(
            Self.frame(.htmx, Self.everything)
                == "event: posts\ndata: <li>one</li>\ndata: <li>two</li>\n\n"
                + "id: 1700000000000-4\nevent: sse-script\ndata: <script>document.currentScript.remove();\n"
                + "data: window[\"postCount\"] = 2;\ndata: if (a) {\ndata:   go()\ndata: }\ndata: </script>\n\n")
    }

    // MARK: datastar

    @Test func datastarPatchesEachFragmentInsideItsElement() {
        #expect(
            Self.frame(.datastar, Self.html)
                == "event: datastar-patch-elements\ndata: selector #posts\ndata: mode inner\n"
                + "data: elements <li>one</li>\ndata: elements <li>two</li>\n\n"
                + "event: datastar-patch-elements\nid: 1700000000000-4\ndata: selector #count\ndata: mode inner\n"
                + "data: elements 2\n\n")
    }

    @Test func datastarSendsVariablesAsOneSignalsPatchAndExecAsAnAutoRemovedScript() {
        #expect(
            Self.frame(.datastar, Self.variables)
                == "event: datastar-patch-signals\nid: 1700000000000-4\n"
                + "data: signals {\"postCount\":2,\"user\":{\"name\":\"Ann\"}}\n\n")
        #expect(
            Self.frame(.datastar, Self.exec)
                == "event: datastar-patch-elements\nid: 1700000000000-4\ndata: mode append\ndata: selector body\n"
                + "data: elements <script data-effect=\"el.remove()\">notify('saved')</script>\n\n")
        #expect(
            Self.frame(.datastar, Self.everything, id: nil)
                == "event: datastar-patch-elements\ndata: selector #posts\ndata: mode inner\n"
                + "data: elements <li>one</li>\ndata: elements <li>two</li>\n\n"
                + "event: datastar-patch-signals\ndata: signals {\"postCount\":2}\n\n"
                + "event: datastar-patch-elements\ndata: mode append\ndata: selector body\n"
                + "data: elements <script data-effect=\"el.remove()\">if (a) {\ndata: elements   go()\n"
                + "data: elements }</script>\n\n")
    }

    @Test(arguments: [
        ("posts", "#posts"), ("1st", #"#\31 st"#), ("-2x", #"#-\32 x"#), ("-", #"#\-"#), ("a.b:c", #"#a\.b\:c"#),
        ("é_ü-9", "#é_ü-9"), ("#x", ##"#\#x"##),
    ])
    func datastarSelectorsEscapeIDsLikeCSSEscape(id: String, selector: String) {
        let frame = Self.frame(.datastar, "{\"html\":{\"\(id)\":\"x\"}}", id: nil)
        #expect(frame.contains("data: selector \(selector)\n"), "\(frame)")
    }

    // MARK: turbo

    @Test func turboSendsTheWholePatchAsOneMessageOfStreamElements() {
        #expect(
            Self.frame(.turbo, Self.html)
                == "id: 1700000000000-4\n"
                + "data: <turbo-stream action=\"update\" target=\"posts\"><template><li>one</li>\n"
                + "data: <li>two</li></template></turbo-stream>\n"
                + "data: <turbo-stream action=\"update\" target=\"count\"><template>2</template></turbo-stream>\n\n")
        #expect(
            Self.frame(.turbo, Self.everything, id: nil)
                == "data: <turbo-stream action=\"update\" target=\"posts\"><template><li>one</li>\n"
                + "data: <li>two</li></template></turbo-stream>\n"
                + "data: <turbo-stream action=\"append\" targets=\"body\"><template>"
                + "<script>document.currentScript.remove();\ndata: window[\"postCount\"] = 2;\n"
                + "data: if (a) {\ndata:   go()\ndata: }\ndata: </script></template></turbo-stream>\n\n")
        #expect(
            Self.frame(.turbo, #"{"html":{"a&\"<>":"x"}}"#, id: nil)
                == "data: <turbo-stream action=\"update\" target=\"a&amp;&quot;&lt;&gt;\"><template>x"
                + "</template></turbo-stream>\n\n")
    }

    @Test func aClosingScriptTagInCodeOrValuesCannotEndTheScriptEarly() {
        let patch = #"{"js":{"note":"</SCRIPT><b>","exec":"log('</script>')"}}"#
        #expect(
            Self.frame(.htmx, patch, id: nil)
                == "event: sse-script\ndata: <script>document.currentScript.remove();\n"
                + "data: window[\"note\"] = \"<\\/SCRIPT><b>\";\ndata: log('<\\/script>')\ndata: </script>\n\n")
        #expect(
            Self.frame(.datastar, patch, id: nil).contains("<script data-effect=\"el.remove()\">log('<\\/script>')"))
    }

    // MARK: plain events

    @Test(arguments: Dialect.allCases)
    func plainEventsPassThroughByteIdentical(dialect: Dialect) {
        let plain = [
            ("hello\r\nworld", nil as String?), (#"{"html":{"a":"x"}}"#, "patch"), (#"{"html":{"a":"x"},"x":1}"#, nil),
            ("", nil), (#"{"data":"x"}"#, nil),
        ]
        for (data, name) in plain {
            #expect(Self.frame(dialect, data, name: name) == Self.frame(.engine, data, name: name))
        }
    }

    // MARK: encoding once

    @Test func framesAreEncodedOncePerDialectInUseAndPlainFramesAreShared() {
        let patch = ServerSentEvent(id: Self.id, data: Self.html)
        let frames = DialectFrames(encoding: patch, for: [.htmx, .turbo])
        #expect(frames.encoded == [.htmx, .turbo])
        #expect(frames[.engine] == nil)
        #expect(frames[.datastar] == nil)
        #expect(frames[.htmx].map { String(buffer: $0) } == Self.frame(.htmx, Self.html))
        #expect(frames[.turbo].map { String(buffer: $0) } == Self.frame(.turbo, Self.html))

        let plain = ServerSentEvent(id: Self.id, data: "just text")
        let shared = DialectFrames(encoding: plain, for: [.engine, .htmx, .datastar, .turbo])
        #expect(shared.encoded == .engine)
        let engineFrame = shared[.engine]!
        for dialect in Dialect.allCases {
            // The same storage, not an equal copy.
            #expect(
                shared[dialect]!.withUnsafeReadableBytes { $0.baseAddress }
                    == engineFrame.withUnsafeReadableBytes { $0.baseAddress })
        }
        #expect(DialectFrames(encoding: patch, for: []).encoded == [])
        #expect(DialectFrames(encoding: patch, for: .engine).encoded == .engine)
    }

    /// Property: the HTML of any fragment arrives in htmx, turbo and datastar events exactly (line breaks as LF),
    /// whatever it holds: CR, CRLF, NUL, quotes, non-ASCII.
    @Test func fragmentHTMLSurvivesEveryDialectExactly() throws {
        var generator = SeededGenerator(seed: 0x4854_4D4C)
        let pieces = ["<p>", "</p>", "a", " ", "\n", "\r", "\r\n", "\0", "\"", "é", "🎉", "data: x", ":", "id: 1"]
        for _ in 0..<300 {
            let html = (0..<Int.random(in: 0...16, using: &generator)).map { _ in
                pieces.randomElement(using: &generator)!
            }.joined()
            let event = ServerSentEvent(id: Self.id, data: Patch(html: [.init(id: "target", html: html)]).json())
            let expected = html.replacingLineBreaksWithLF()

            let htmx = Self.decode(Dialect.htmx.frame(for: event))
            #expect(htmx == [.event(id: "1700000000000-4", event: "target", data: expected)])

            let turbo = Self.decode(Dialect.turbo.frame(for: event))
            #expect(
                turbo == [
                    .event(
                        id: "1700000000000-4", event: nil,
                        data: "<turbo-stream action=\"update\" target=\"target\"><template>" + expected
                            + "</template></turbo-stream>")
                ])

            guard case .event(let id, let name, let data)? = Self.decode(Dialect.datastar.frame(for: event)).first
            else {
                Issue.record("no datastar event")
                continue
            }
            #expect(id == "1700000000000-4" && name == "datastar-patch-elements")
            let elements = data.split(separator: "\n", omittingEmptySubsequences: false)
                .filter { $0.hasPrefix("elements ") }.map { $0.dropFirst("elements ".count) }
            #expect(elements.joined(separator: "\n") == expected)
        }
    }

    static func decode(_ frame: ByteBuffer) -> [SSEDecoder.Parsed] {
        var decoder = SSEDecoder()
        decoder.feed(frame)
        return decoder.drain()
    }
}

extension String {
    /// What the EventSource parser hands the page: CRLF and lone CR become LF.
    fileprivate func replacingLineBreaksWithLF() -> String {
        var out = ""
        var previousCR = false
        for scalar in unicodeScalars {
            if scalar == "\r" {
                out += "\n"
                previousCR = true
                continue
            }
            if scalar == "\n" && previousCR {
                previousCR = false
                continue
            }
            previousCR = false
            out.unicodeScalars.append(scalar)
        }
        return out
    }
}
