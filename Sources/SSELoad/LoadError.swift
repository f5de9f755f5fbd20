/// A failure of the load generator itself, with a one-line reason.
struct LoadError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
