import Publisher
import SSEProtocol
import Testing

/// The `/datastar-sdk-test` protocol: `{"events":[…]}` in, exactly the ADR's SSE out, for every event type and option.
@Suite("Datastar SDK test protocol")
struct DatastarSDKTestProtocolTests {
    static func response(_ events: String) throws -> String {
        try DatastarSDKTest.response(forJSON: #"{"events":["# + events + "]}")
    }

    @Test func patchElementsWithoutAndWithEveryOption() throws {
        #expect(
            try Self.response(#"{"type":"patchElements","elements":"<div>Merge</div>"}"#)
                == "event: datastar-patch-elements\ndata: elements <div>Merge</div>\n\n")
        #expect(
            try Self.response(
                #"{"type":"patchElements","elements":"<div>\n  <span>Merge</span>\n</div>","eventId":"event1","#
                    + #""retryDuration":2000,"selector":"div","mode":"append","useViewTransition":true}"#)
                == "event: datastar-patch-elements\nid: event1\nretry: 2000\ndata: selector div\ndata: mode append\n"
                + "data: useViewTransition true\ndata: elements <div>\ndata: elements   <span>Merge</span>\n"
                + "data: elements </div>\n\n")
        #expect(
            try Self.response(
                #"{"type":"patchElements","elements":"<p>","mode":"outer","useViewTransition":false,"#
                    + #""retryDuration":1000,"selector":null,"eventId":null}"#)
                == "event: datastar-patch-elements\ndata: elements <p>\n\n")
    }

    @Test func removeElementsIsAPatchInRemoveMode() throws {
        #expect(
            try Self.response(##"{"type":"patchElements","selector":"#target","mode":"remove"}"##)
                == "event: datastar-patch-elements\ndata: selector #target\ndata: mode remove\n\n")
        #expect(
            try Self.response(
                ##"{"type":"removeElements","selector":"#target","useViewTransition":true,"eventId":"e","retryDuration":3}"##
            )
                == "event: datastar-patch-elements\nid: e\nretry: 3\ndata: selector #target\ndata: mode remove\n"
                + "data: useViewTransition true\n\n")
        #expect(
            try Self.response(#"{"type":"removeElements","elements":"<div id=\"a\"></div>"}"#)
                == "event: datastar-patch-elements\ndata: mode remove\ndata: elements <div id=\"a\"></div>\n\n")
    }

    @Test func patchSignalsFromAnObjectIsCompactAndKeepsMemberOrder() throws {
        #expect(
            try Self.response(#"{"type":"patchSignals","signals":{ "two" : 2, "one": "first\n signal", "n": null }}"#)
                == "event: datastar-patch-signals\ndata: signals {\"two\":2,\"one\":\"first\\n signal\",\"n\":null}\n\n"
        )
        #expect(
            try Self.response(
                #"{"type":"patchSignals","signals":{"one":1},"onlyIfMissing":true,"eventId":"event1","retryDuration":2000}"#
            )
                == "event: datastar-patch-signals\nid: event1\nretry: 2000\ndata: onlyIfMissing true\n"
                + "data: signals {\"one\":1}\n\n")
    }

    @Test func patchSignalsRawIsSentLineByLineAndWinsOverSignals() throws {
        #expect(
            try Self.response(
                #"{"type":"patchSignals","signals-raw":"{\n\"one\": \"first signal\",\n\"two\":  \n\"second signal\"}","#
                    + #""signals":{"ignored":true},"onlyIfMissing":false}"#)
                == "event: datastar-patch-signals\ndata: signals {\ndata: signals \"one\": \"first signal\",\n"
                + "data: signals \"two\":  \ndata: signals \"second signal\"}\n\n")
    }

    @Test func removeSignalsSetsEachPathToNull() throws {
        #expect(
            try Self.response(
                #"{"type":"removeSignals","paths":["user.name","count","user.email","form","form.x"],"eventId":"r"}"#)
                == "event: datastar-patch-signals\nid: r\n"
                + "data: signals {\"user\":{\"name\":null,\"email\":null},\"count\":null,\"form\":null}\n\n")
        #expect(
            try Self.response(#"{"type":"removeSignals","paths":["a.b","a"],"retryDuration":10}"#)
                == "event: datastar-patch-signals\nretry: 10\ndata: signals {\"a\":null}\n\n")
    }

    @Test func executeScriptWithDefaultsAndWithEveryOption() throws {
        #expect(
            try Self.response(#"{"type":"executeScript","script":"console.log('hello');","autoRemove":true}"#)
                == "event: datastar-patch-elements\ndata: mode append\ndata: selector body\n"
                + "data: elements <script data-effect=\"el.remove()\">console.log('hello');</script>\n\n")
        #expect(
            try Self.response(
                #"{"type":"executeScript","script":"if (true) {\n  console.log('hello');\n}","eventId":"event1","#
                    + #""retryDuration":2000,"attributes":{"type":"text/javascript","blocking":"false","data-x":"a&\"b"},"#
                    + #""autoRemove":false}"#)
                == "event: datastar-patch-elements\nid: event1\nretry: 2000\ndata: mode append\ndata: selector body\n"
                + "data: elements <script type=\"text/javascript\" blocking=\"false\" data-x=\"a&amp;&quot;b\">"
                + "if (true) {\ndata: elements   console.log('hello');\ndata: elements }</script>\n\n")
        #expect(
            try Self.response(#"{"type":"executeScript","script":"x()","attributes":["type=\"module\"","defer"]}"#)
                == "event: datastar-patch-elements\ndata: mode append\ndata: selector body\n"
                + "data: elements <script type=\"module\" defer data-effect=\"el.remove()\">x()</script>\n\n")
    }

    @Test func eventsFollowOneAnotherAndOtherSignalsAreIgnored() throws {
        #expect(
            try DatastarSDKTest.response(
                forJSON: #"{"other":1,"events":[{"type":"patchElements","elements":"<div>Merge</div>"},"#
                    + #"{"type":"patchElements","elements":"<div>Merge 2</div>"}]}"#)
                == "event: datastar-patch-elements\ndata: elements <div>Merge</div>\n\n"
                + "event: datastar-patch-elements\ndata: elements <div>Merge 2</div>\n\n")
        #expect(try DatastarSDKTest.response(forJSON: #"{"events":[]}"#) == "")
    }

    @Test(arguments: [
        (
            "{",
            #"Datastar SDK test body is not valid JSON: malformed JSON at byte 1: expected a member name in double quotes; expected {"events":[…]}"#
        ),
        (
            #"{"events":{}}"#,
            #"Datastar SDK test body has no "events" array: expected {"events":[{"type":"patchElements",…}]}"#
        ),
        (#"{"events":[1]}"#, #"events[0] is 1: expected an object such as {"type":"patchElements",…}"#),
        (
            #"{"events":[{}]}"#,
            "events[0] has no \"type\": expected one of patchElements, removeElements, patchSignals, removeSignals, executeScript"
        ),
        (
            #"{"events":[{"type":"mergeFragments"}]}"#,
            #"events[0] has type "mergeFragments": expected one of patchElements, removeElements, patchSignals, removeSignals, executeScript"#
        ),
        (
            #"{"events":[{"type":"patchElements","wrap":"svg"}]}"#,
            #"events[0] has unknown member "wrap": expected type, elements, selector, mode, useViewTransition, eventId, retryDuration"#
        ),
        (
            #"{"events":[{"type":"patchElements","mode":"sideways"}]}"#,
            #"events[0].mode "sideways" is not a patch mode: expected outer, inner, replace, prepend, append, before, after, remove"#
        ),
        (#"{"events":[{"type":"patchElements","elements":7}]}"#, "events[0].elements is 7: expected a string"),
        (
            #"{"events":[{"type":"patchElements","useViewTransition":"yes"}]}"#,
            #"events[0].useViewTransition is "yes": expected true or false"#
        ),
        (
            #"{"events":[{"type":"patchElements","selector":"a\nb"}]}"#,
            #"events[0].selector "a\nb" has a line break: expected one line"#
        ),
        (
            #"{"events":[{"type":"patchElements","eventId":"a\rb"}]}"#,
            #"events[0].eventId "a\rb" has CR, LF or NUL: expected one line of text"#
        ),
        (
            #"{"events":[{"type":"patchElements","retryDuration":-1}]}"#,
            "events[0].retryDuration is -1: expected a non-negative whole number of milliseconds"
        ),
        (
            #"{"events":[{"type":"patchElements","retryDuration":1.5}]}"#,
            "events[0].retryDuration is 1.5: expected a non-negative whole number of milliseconds"
        ),
        (
            #"{"events":[{"type":"removeElements"}]}"#,
            #"events[0] (removeElements) has neither "selector" nor "elements""#
        ),
        (
            #"{"events":[{"type":"patchSignals"}]}"#,
            #"events[0] (patchSignals) has neither "signals" nor "signals-raw""#
        ),
        (#"{"events":[{"type":"patchSignals","signals":[1]}]}"#, "events[0].signals is [1]: expected a JSON object"),
        (
            #"{"events":[{"type":"removeSignals","paths":[]}]}"#,
            #"events[0] (removeSignals) needs "paths": expected a non-empty array such as ["user.name"]"#
        ),
        (
            #"{"events":[{"type":"removeSignals","paths":["a..b"]}]}"#,
            #"events[0].paths[0] "a..b" is not a signal path: expected names joined by dots, e.g. "user.name""#
        ),
        (#"{"events":[{"type":"executeScript"}]}"#, #"events[0] (executeScript) has no "script": expected JavaScript"#),
        (
            #"{"events":[{"type":"executeScript","script":"x","attributes":{"on click":"y"}}]}"#,
            #"events[0].attributes has name "on click": expected an HTML attribute name (no spaces, quotes, '>', '/' or '=')"#
        ),
        (
            #"{"events":[{"type":"executeScript","script":"x","attributes":{"async":true}}]}"#,
            "events[0].attributes.async is true: expected a string"
        ),
        (
            #"{"events":[{"type":"executeScript","script":"x","attributes":"defer"}]}"#,
            #"events[0].attributes is "defer": expected an object of strings or an array of strings"#
        ),
    ])
    func badBodiesGetOneLineErrors(body: String, message: String) {
        #expect(throws: DatastarSDKTestError(message)) { try DatastarSDKTest.response(forJSON: body) }
    }

    @Test func retryDurationAcceptsAnyIntegralNumber() throws {
        #expect(
            try Self.response(#"{"type":"patchSignals","signals":{},"retryDuration":2e3}"#)
                == "event: datastar-patch-signals\nretry: 2000\ndata: signals {}\n\n")
    }
}
