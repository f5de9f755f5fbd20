/// A Datastar SDK test body that cannot be answered: not JSON, no `events` array, or an event with an unknown type,
/// an unknown member or a member of the wrong type. The message is one line naming what was found and what was
/// expected, e.g. `events[0].mode "sideways" is not a patch mode: expected outer, inner, …`.
public struct DatastarSDKTestError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
