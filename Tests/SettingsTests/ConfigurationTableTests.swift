import Configuration
import Foundation
import Gateway
import Publisher
import ServerSupport
import Testing

@testable import SSECtl

/// The README's configuration table is the operator's reference: it must list every setting each program reads,
/// with the same flag, variable and default as the code.
@Suite struct ConfigurationTableTests {
    static let programs: [(name: String, settings: [SettingDescriptor])] = [
        ("gateway", GatewayConfiguration.settings), ("publisher", PublisherConfiguration.settings),
        ("ssectl", SSECtl.settings),
    ]

    static func readme() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
    }

    @Test func theReadmeTableDocumentsEverySettingWithTheCodesDefault() throws {
        let table = ConfigurationTable(markdown: try Self.readme())
        #expect(table.rows.count >= 28)
        #expect(table.problems(programs: Self.programs) == [])
    }

    @Test func aMissingRowOrAnotherDefaultInTheTableIsReported() throws {
        let readme = try Self.readme()
        let rows = readme.split(separator: "\n", omittingEmptySubsequences: false)
        let edited = rows.filter { !$0.hasPrefix("| `--max-topics` |") }.map { line in
            line.hasPrefix("| `--retry-ms` |") ? line.replacingOccurrences(of: "`2000`", with: "`3000`") : String(line)
        }
        #expect(edited.count == rows.count - 1)
        let table = ConfigurationTable(markdown: edited.joined(separator: "\n"))
        #expect(
            table.problems(programs: Self.programs) == [
                "gateway: --retry-ms is documented with default `3000`, the code's default is `2000`",
                "gateway: --max-topics (SSE_MAX_TOPICS) is missing from the table",
            ])
    }

    @Test func aRowNoProgramReadsIsReported() throws {
        let row = "| `--shiny` | `SSE_SHINY` | `1` | gateway | not a setting |"
        let readme = try Self.readme().replacingOccurrences(
            of: "| `--host` |", with: "\(row)\n| `--host` |")
        #expect(
            ConfigurationTable(markdown: readme).problems(programs: Self.programs) == [
                "README: --shiny is documented as used by gateway, which does not read it"
            ])
    }

    @Test func aPerProgramDefaultIsReadForEachProgram() throws {
        let table = ConfigurationTable(markdown: try Self.readme())
        let port = try #require(table.rows.first { $0.flag == "--port" })
        #expect(table.documentedDefault(port, for: "gateway") == "`8080`")
        #expect(table.documentedDefault(port, for: "publisher") == "`8090`")
    }

    /// swift-configuration derives the variable from the key (`sse.redisUrl` → `SSE_REDIS_URL`); the name each
    /// setting documents must be the one the provider really reads.
    @Test func everySettingsKeyIsReadFromItsDocumentedVariable() {
        for (_, settings) in Self.programs {
            for setting in settings {
                let provider = EnvironmentVariablesProvider(environmentVariables: [setting.environmentVariable: "x"])
                let reader = ConfigReader(provider: provider).scoped(to: SettingsReader.scope)
                #expect(reader.string(forKey: setting.key) == "x", "\(setting.key) → \(setting.environmentVariable)")
            }
        }
    }

    @Test func eachProgramReadsEachSettingOnce() {
        for (program, settings) in Self.programs {
            #expect(Set(settings.map(\.flag)).count == settings.count, "\(program)")
            #expect(Set(settings.map(\.environmentVariable)).count == settings.count, "\(program)")
        }
    }
}
