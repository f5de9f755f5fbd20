import SSEProtocol

/// How one stream wants its events written: the dialect it asked for (`dialect=`), whether each event's data
/// starts with its topic (`tag=topic`), and whether the stream writes its own `id:` lines (`positioned`). The hub
/// encodes each message once per format in use on the node.
///
/// A positioned stream is a stream of several topics on a Redis Cluster: ids of different topics come from different
/// clocks, so its `id:` line is its ``SSEProtocol/StreamPosition`` (every topic's last id), written by the stream
/// before the shared frame, which is encoded without an id.
struct StreamFormat: Hashable, Sendable, CustomStringConvertible {
    var dialect: Dialect
    var tagged: Bool
    var positioned: Bool

    init(dialect: Dialect = .engine, tagged: Bool = false, positioned: Bool = false) {
        self.dialect = dialect
        self.tagged = tagged
        self.positioned = positioned
    }

    /// The number of formats: a dense index for per-format arrays runs over `0..<count`.
    static let count = Dialect.allCases.count * 4

    /// A dense index in `0..<count`.
    var slot: Int { (dialect.slot * 2 + (tagged ? 1 : 0)) * 2 + (positioned ? 1 : 0) }

    var description: String { (tagged ? "\(dialect)+tag" : "\(dialect)") + (positioned ? "+position" : "") }
}

/// A set of stream formats in one word: which formats a topic's streams use.
struct FormatSet: OptionSet, Sendable, Hashable {
    let rawValue: UInt16

    init(rawValue: UInt16) { self.rawValue = rawValue }

    init(_ format: StreamFormat) { rawValue = 1 << UInt16(format.slot) }

    func contains(_ format: StreamFormat) -> Bool { contains(FormatSet(format)) }

    /// The formats in the set, untagged before tagged, in ``Dialect/allCases`` order, unpositioned first.
    var formats: [StreamFormat] {
        [false, true].flatMap { positioned in
            [false, true].flatMap { tagged in
                Dialect.allCases.map { StreamFormat(dialect: $0, tagged: tagged, positioned: positioned) }
                    .filter(contains)
            }
        }
    }

    /// Whether any format writes frames without ids (positioned streams).
    var hasPositioned: Bool { formats.contains { $0.positioned } }

    /// The dialects the formats use.
    var dialects: DialectSet {
        formats.reduce(into: DialectSet()) { $0.insert(DialectSet($1.dialect)) }
    }
}

extension Dialect {
    /// A dense index in `0..<Dialect.allCases.count`.
    var slot: Int {
        switch self {
        case .engine: 0
        case .htmx: 1
        case .datastar: 2
        case .turbo: 3
        }
    }
}
