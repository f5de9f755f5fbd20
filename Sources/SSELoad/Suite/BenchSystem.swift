/// A system the suite measures: our gateway, nginx + nchan, or the C floor server.
///
/// `ours-5` and `floor-5` are five processes side by side, for S8 only (100,000 idle streams do not fit in one
/// process under the 20,000-file limit); they run when `ours-1` or `floor` is selected.
enum BenchSystem: String, CaseIterable, Codable, Sendable {
    case ours1 = "ours-1"
    case ours2 = "ours-2"
    case nchan1 = "nchan-1"
    case nchan2 = "nchan-2"
    case floor
    case ours5 = "ours-5"
    case floor5 = "floor-5"

    /// The systems `--systems` may name.
    static let selectable: [BenchSystem] = [.ours1, .ours2, .nchan1, .nchan2, .floor]

    var label: String {
        switch self {
        case .ours1: return "ours, 1 node"
        case .ours2: return "ours, 2 nodes + nginx"
        case .nchan1: return "nchan, 1 worker"
        case .nchan2: return "nchan, 2 workers"
        case .floor: return "floor, 2 threads"
        case .ours5: return "ours, 5 nodes"
        case .floor5: return "floor, 5 processes"
        }
    }

    /// Server processes clients connect to (gateway nodes, floor processes); nginx+nchan is one master.
    var nodes: Int {
        switch self {
        case .ours1, .floor, .nchan1, .nchan2: return 1
        case .ours2: return 2
        case .ours5, .floor5: return 5
        }
    }

    var isOurs: Bool { self == .ours1 || self == .ours2 || self == .ours5 }
    var isFloor: Bool { self == .floor || self == .floor5 }
    var isNchan: Bool { self == .nchan1 || self == .nchan2 }
    /// The floor sends no heartbeats.
    var sendsHeartbeats: Bool { !isFloor }
}

/// The scenarios, in the order they run.
enum Scenario: String, CaseIterable, Codable, Sendable, Comparable {
    case s1 = "S1", s2 = "S2", s3 = "S3", s4 = "S4", s5 = "S5", s6 = "S6", s7 = "S7", s8 = "S8"

    static func < (left: Scenario, right: Scenario) -> Bool {
        allCases.firstIndex(of: left)! < allCases.firstIndex(of: right)!
    }

    /// Which systems a scenario runs on, of those selected.
    func systems(from selected: [BenchSystem]) -> [BenchSystem] {
        switch self {
        case .s8:
            // Five nodes on this machine; nchan would need 100,000 descriptors in its workers.
            return (selected.contains(.ours1) ? [.ours5] : []) + (selected.contains(.floor) ? [.floor5] : [])
        case .s5:
            // One nginx worker in front of two nodes would need two descriptors per stream, past the file limit.
            return selected.filter { $0 != .ours2 }
        default:
            return selected
        }
    }
}
