import SSEProtocol
import Testing

/// The Datastar SDK ADR's wire layout for every event type and option, defaults omitted.
@Suite("Datastar v1 events per the SDK ADR")
struct DatastarEventTests {
    @Test func patchElementsWithDefaultsIsTheEventAndTheElementsOnly() {
        #expect(
            DatastarEvent.patchElements(.init(elements: #"<div id="feed"><span>1</span></div>"#)).text
                == "event: datastar-patch-elements\ndata: elements <div id=\"feed\"><span>1</span></div>\n\n")
        // Defaults given explicitly are still omitted.
        #expect(
            DatastarEvent.patchElements(
                .init(elements: "<p>", mode: .outer, useViewTransition: false, eventID: "", retryDuration: 1000)
            ).text == "event: datastar-patch-elements\ndata: elements <p>\n\n")
    }

    @Test func patchElementsWritesEveryOptionInTheADROrder() {
        let event = DatastarEvent.patchElements(
            .init(
                elements: "<div id=\"feed\">\n    <span>1</span>\n</div>", selector: "#feed", mode: .inner,
                useViewTransition: true, eventID: "123", retryDuration: 2000))
        #expect(
            event.text
                == "event: datastar-patch-elements\nid: 123\nretry: 2000\ndata: selector #feed\ndata: mode inner\n"
                + "data: useViewTransition true\ndata: elements <div id=\"feed\">\ndata: elements     <span>1</span>\n"
                + "data: elements </div>\n\n")
    }

    @Test(arguments: DatastarEvent.PatchMode.allCases)
    func everyModeButOuterIsWritten(mode: DatastarEvent.PatchMode) {
        let text = DatastarEvent.patchElements(.init(elements: "<p>", selector: "#x", mode: mode)).text
        let modeLine = mode == .outer ? "" : "data: mode \(mode.rawValue)\n"
        #expect(text == "event: datastar-patch-elements\ndata: selector #x\n" + modeLine + "data: elements <p>\n\n")
    }

    @Test func removingElementsNeedsNoElementsLine() {
        #expect(
            DatastarEvent.patchElements(.init(selector: "#feed, #otherid", mode: .remove)).text
                == "event: datastar-patch-elements\ndata: selector #feed, #otherid\ndata: mode remove\n\n")
        #expect(
            DatastarEvent.patchElements(.init(elements: "", selector: "#a", mode: .remove, retryDuration: 0)).text
                == "event: datastar-patch-elements\nretry: 0\ndata: selector #a\ndata: mode remove\n\n")
    }

    @Test func patchSignalsWritesOnlyIfMissingAndOneLinePerLineOfJSON() {
        #expect(
            DatastarEvent.patchSignals(.init(signals: #"{"output":"x","show":true}"#)).text
                == "event: datastar-patch-signals\ndata: signals {\"output\":\"x\",\"show\":true}\n\n")
        #expect(
            DatastarEvent.patchSignals(
                .init(signals: "{\n\"a\": 1,\r\n\"b\": null\r}", onlyIfMissing: true, eventID: "e1", retryDuration: 5)
            ).text
                == "event: datastar-patch-signals\nid: e1\nretry: 5\ndata: onlyIfMissing true\ndata: signals {\n"
                + "data: signals \"a\": 1,\ndata: signals \"b\": null\ndata: signals }\n\n")
    }

    @Test func executeScriptAppendsAScriptToBodyThatRemovesItselfByDefault() {
        #expect(
            DatastarEvent.executeScript(.init(script: "console.log('Here')")).text
                == "event: datastar-patch-elements\ndata: mode append\ndata: selector body\n"
                + "data: elements <script data-effect=\"el.remove()\">console.log('Here')</script>\n\n")
        #expect(
            DatastarEvent.executeScript(
                .init(
                    script: "a()\nb()", autoRemove: false, attributes: [#"type="module""#, "defer"], eventID: "7",
                    retryDuration: 2000)
            ).text
                == "event: datastar-patch-elements\nid: 7\nretry: 2000\ndata: mode append\ndata: selector body\n"
                + "data: elements <script type=\"module\" defer>a()\ndata: elements b()</script>\n\n")
        #expect(
            DatastarEvent.executeScript(.init(script: "x()", attributes: [#"type="application/javascript""#])).text
                == "event: datastar-patch-elements\ndata: mode append\ndata: selector body\n"
                + "data: elements <script type=\"application/javascript\" data-effect=\"el.remove()\">x()</script>\n\n")
    }
}
