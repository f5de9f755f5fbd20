/// The wire format a stream asked for with `GET /sse?dialect=…`: how a published patch is delivered to it.
///
/// - ``engine`` (the default): the patch JSON as published, in `data:`, for the project's own `engine.js`.
/// - ``htmx``: one event per html fragment, named after the element id (for htmx's `sse-swap`).
/// - ``datastar``: Datastar v1 events (`datastar-patch-elements`, `datastar-patch-signals`), per its SDK ADR.
/// - ``turbo``: one message event of `<turbo-stream>` elements (for Turbo's `<turbo-stream-source>`).
///
/// Only patches (see ``Patch/init(event:)``) are translated. Plain events, the opening comment, heartbeats, `retry:`
/// and `resync` notices are the same bytes in every dialect. When one patch becomes several SSE events, the `id:` of
/// a reliable event goes on the last of them only, so a client that resumes with that id never skips part of a patch.
public enum Dialect: String, CaseIterable, Sendable, Hashable, CustomStringConvertible {
    case engine
    case htmx
    case datastar
    case turbo

    /// The value of the `dialect` query parameter; anything but the four names is an error.
    public init(parameter: String) throws(UnknownName) {
        guard let dialect = Dialect(rawValue: parameter) else { throw UnknownName(found: parameter) }
        self = dialect
    }

    public var description: String { rawValue }

    /// A `dialect` parameter that names no dialect.
    public struct UnknownName: Error, Sendable, Equatable, CustomStringConvertible {
        public let found: String

        public var description: String {
            "dialect \(SSEProtocolError.quoted(found)) is unknown: use engine, htmx, datastar or turbo"
        }
    }
}
