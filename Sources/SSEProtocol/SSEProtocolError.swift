/// A value that breaks the SSE protocol's rules, found where it enters the system (a request, a publish call).
///
/// Each case keeps the offending input so the message can say what was found next to what was expected; the
/// gateway turns these into one-line 400 bodies and the publisher into 422s.
public enum SSEProtocolError: Error, Sendable, Hashable {
    /// A topic name outside `[A-Za-z0-9-_.:]{1,128}`.
    case invalidTopic(String)
    /// A `Last-Event-ID` (or any event id) that is not `<milliseconds>-<sequence>`.
    case malformedEventID(String)
    /// An event name that is empty, too long, has a line break or NUL, or starts or ends with a space.
    case invalidEventName(String)
}

extension SSEProtocolError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .invalidTopic(let found):
            return "topic \(Self.quoted(found)) is invalid: use letters, digits and - _ . : (1–128 characters)"
        case .malformedEventID(let found):
            return "Last-Event-ID \(Self.quoted(found)) is malformed: expected <milliseconds>-<sequence>, "
                + "e.g. 1700000000000-0"
        case .invalidEventName(let found):
            return "event name \(Self.quoted(found)) is invalid: use 1–\(EventName.maximumLength) bytes of text "
                + "without CR, LF or NUL and without leading or trailing spaces"
        }
    }

    /// Longest input shown in a message; longer ones are cut so a hostile header cannot flood the logs.
    public static let maximumQuotedCharacters = 160

    /// The input in double quotes with control characters, quotes and backslashes escaped (`"a\nb"`), so the
    /// message stays on one line and shows exactly what was wrong.
    public static func quoted(_ value: String) -> String {
        var shown = value
        var suffix = ""
        if value.count > maximumQuotedCharacters {
            shown = String(value.prefix(maximumQuotedCharacters))
            suffix = "… (\(value.count) characters)"
        }
        return shown.debugDescription + suffix
    }
}
