import ServerSupport

/// The README's configuration table (flag, environment, default, used by), parsed so a test can hold it against
/// the settings each program defines.
struct ConfigurationTable {
    struct Row: Equatable {
        /// `--redis-url`.
        var flag: String
        /// `SSE_REDIS_URL`, or nil for `—` (an option of one invocation, not a setting).
        var environmentVariable: String?
        /// The default cell as written, e.g. `` `1000` `` or `` `8080` gateway, `8090` publisher ``.
        var defaults: String
        /// The programs of the "used by" column.
        var usedBy: Set<String>
    }

    var rows: [Row]

    /// Reads the first table under `## Configuration`: its rows start with `` | `--``.
    init(markdown: String) {
        let lines = markdown.split(separator: "\n", omittingEmptySubsequences: false)
        let section = lines.drop { $0 != "## Configuration" }.dropFirst().prefix { !$0.hasPrefix("## ") }
        rows = section.filter { $0.hasPrefix("| `--") }.map { line in
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().map {
                $0.trimmingCharacters(in: " ")
            }
            let environment = cells[1].trimmingCharacters(in: "`")
            return Row(
                flag: cells[0].trimmingCharacters(in: "`"),
                environmentVariable: environment == "—" ? nil : environment,
                defaults: cells[2],
                usedBy: Set(cells[3].split(separator: ",").map { $0.trimmingCharacters(in: " ") }))
        }
    }

    /// The default the row documents for `program`: a cell such as `` `8080` gateway, `8090` publisher `` names
    /// one per program, any other cell holds for every program of the row.
    func documentedDefault(_ row: Row, for program: String) -> String {
        let parts = row.defaults.split(separator: ", ").map(String.init)
        let perProgram = parts.compactMap { part -> (String, String)? in
            guard let space = part.lastIndex(of: " ") else { return nil }
            let name = String(part[part.index(after: space)...])
            return row.usedBy.contains(name) ? (name, String(part[..<space])) : nil
        }
        guard perProgram.count == parts.count, parts.count > 1 else { return row.defaults }
        return Dictionary(perProgram, uniquingKeysWith: { first, _ in first })[program] ?? "(none for \(program))"
    }

    /// Every difference between the table and the programs' settings, one line each; empty when they agree.
    func problems(programs: [(name: String, settings: [SettingDescriptor])]) -> [String] {
        var problems: [String] = []
        for (program, settings) in programs {
            for setting in settings {
                let flag = "--\(setting.flag)"
                guard let row = rows.first(where: { $0.flag == flag }) else {
                    problems.append("\(program): \(flag) (\(setting.environmentVariable)) is missing from the table")
                    continue
                }
                if row.environmentVariable != setting.environmentVariable {
                    problems.append(
                        "\(program): \(flag) is documented with variable \(row.environmentVariable ?? "—"), "
                            + "the code reads \(setting.environmentVariable)")
                }
                if !row.usedBy.contains(program) {
                    problems.append("\(program): \(flag) is not documented as used by \(program)")
                }
                let documented = documentedDefault(row, for: program)
                if documented != setting.documentedDefault {
                    problems.append(
                        "\(program): \(flag) is documented with default \(documented), "
                            + "the code's default is \(setting.documentedDefault)")
                }
            }
        }
        for row in rows where row.environmentVariable != nil {
            for program in row.usedBy.sorted() {
                let reads = programs.first { $0.name == program }?.settings.contains { "--\($0.flag)" == row.flag }
                if reads != true {
                    problems.append("README: \(row.flag) is documented as used by \(program), which does not read it")
                }
            }
        }
        return problems
    }
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in characters: String) -> String {
        let set = Set(characters)
        return String(drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}
