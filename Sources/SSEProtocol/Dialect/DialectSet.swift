/// A set of dialects in one byte: which dialects a topic's streams use, or which frames were encoded.
public struct DialectSet: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    public init(_ dialect: Dialect) {
        switch dialect {
        case .engine: rawValue = 1
        case .htmx: rawValue = 2
        case .datastar: rawValue = 4
        case .turbo: rawValue = 8
        }
    }

    public static let engine = DialectSet(.engine)
    public static let htmx = DialectSet(.htmx)
    public static let datastar = DialectSet(.datastar)
    public static let turbo = DialectSet(.turbo)

    public func contains(_ dialect: Dialect) -> Bool {
        contains(DialectSet(dialect))
    }

    /// The members in ``Dialect/allCases`` order.
    public var dialects: [Dialect] {
        Dialect.allCases.filter { contains($0) }
    }
}
