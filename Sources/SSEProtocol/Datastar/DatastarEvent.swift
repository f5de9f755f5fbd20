/// One Datastar v1 server-sent event, as the Datastar SDK ADR (`sdk/ADR.md` in starfederation/datastar) defines the
/// `ServerSentEventGenerator` calls: `PatchElements`, `PatchSignals` and `ExecuteScript`.
///
/// Datastar v1 has two event types on the wire, `datastar-patch-elements` and `datastar-patch-signals`; executing a
/// script is a patch-elements event that appends a `<script>` to `body`, removing elements is patch mode `remove`, and
/// removing signals is a signals patch setting them to `null` (RFC 7386 merge patch). Options equal to the ADR's
/// defaults are left out of the encoding, as the ADR requires (mode `outer`, `retry` 1000, `useViewTransition`
/// false, `onlyIfMissing` false, `autoRemove` true). See ``encode(into:)`` for the exact layout.
public enum DatastarEvent: Sendable, Equatable {
    case patchElements(PatchElements)
    case patchSignals(PatchSignals)
    case executeScript(ExecuteScript)

    /// The reconnection delay Datastar assumes; a `retry:` line is written only for other values.
    public static let defaultRetryDuration = 1000

    /// How `PatchElements` puts elements into the DOM.
    public enum PatchMode: String, CaseIterable, Sendable {
        /// Morph the whole target element (the default).
        case outer
        /// Morph the target's inner HTML.
        case inner
        case replace
        case prepend
        case append
        case before
        case after
        case remove
    }

    /// `ServerSentEventGenerator.PatchElements`.
    public struct PatchElements: Sendable, Equatable {
        /// HTML elements; may be nil or empty only with mode `remove` and a selector.
        public var elements: String?
        /// CSS selector of the target; nil means each top-level element is matched by its id.
        public var selector: String?
        public var mode: PatchMode
        public var useViewTransition: Bool
        /// The SSE `id:`; must hold no CR, LF or NUL. Nil or empty writes none.
        public var eventID: String?
        /// The SSE `retry:` in milliseconds; nil or 1000 writes none.
        public var retryDuration: Int?

        public init(
            elements: String? = nil, selector: String? = nil, mode: PatchMode = .outer, useViewTransition: Bool = false,
            eventID: String? = nil, retryDuration: Int? = nil
        ) {
            self.elements = elements
            self.selector = selector
            self.mode = mode
            self.useViewTransition = useViewTransition
            self.eventID = eventID
            self.retryDuration = retryDuration
        }
    }

    /// `ServerSentEventGenerator.PatchSignals`: an RFC 7386 merge patch of the signal store.
    public struct PatchSignals: Sendable, Equatable {
        /// JSON text of the patch, sent as is (one `signals` line per line of it).
        public var signals: String
        public var onlyIfMissing: Bool
        public var eventID: String?
        public var retryDuration: Int?

        public init(signals: String, onlyIfMissing: Bool = false, eventID: String? = nil, retryDuration: Int? = nil) {
            self.signals = signals
            self.onlyIfMissing = onlyIfMissing
            self.eventID = eventID
            self.retryDuration = retryDuration
        }
    }

    /// `ServerSentEventGenerator.ExecuteScript`: a `<script>` appended to `body`.
    public struct ExecuteScript: Sendable, Equatable {
        /// JavaScript, written inside the script element as is.
        public var script: String
        /// Adds `data-effect="el.remove()"`, which makes Datastar remove the element once it has run.
        public var autoRemove: Bool
        /// Attributes written into the script tag as they are, in order, e.g. `type="module"`.
        public var attributes: [String]
        public var eventID: String?
        public var retryDuration: Int?

        public init(
            script: String, autoRemove: Bool = true, attributes: [String] = [], eventID: String? = nil,
            retryDuration: Int? = nil
        ) {
            self.script = script
            self.autoRemove = autoRemove
            self.attributes = attributes
            self.eventID = eventID
            self.retryDuration = retryDuration
        }
    }
}
