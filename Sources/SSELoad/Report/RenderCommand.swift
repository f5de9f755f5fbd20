import ArgumentParser
import Foundation

/// `sse-load render`: writes the benchmark document from a suite run's files.
struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render", abstract: "Write docs/BENCHMARKS.md from a bench/run results folder.")

    @Option(help: "results.jsonl: one record per system and scenario.") var results: String
    @Option(help: "Markdown lines describing the machine.") var machine: String
    @Option(help: "The commands the run executed.") var commands: String
    @Option(help: "Markdown paragraph: when, how long, with which settings.") var summary: String
    @Option(help: "Where to write the document.") var output: String
    @Option(help: "Hand-written findings (markdown) placed after the targets: causes of gaps, profiles.")
    var notes: String?

    func run() throws {
        let decoder = JSONDecoder()
        let records = try String(contentsOfFile: results, encoding: .utf8).split(separator: "\n")
            .filter { $0.hasPrefix("{") }
            .map { try decoder.decode(BenchmarkRecord.self, from: Data($0.utf8)) }
        let document = BenchmarkDocument(
            records: records, machine: try String(contentsOfFile: machine, encoding: .utf8),
            commands: try String(contentsOfFile: commands, encoding: .utf8),
            runSummary: try String(contentsOfFile: summary, encoding: .utf8),
            notes: try notes.map { try String(contentsOfFile: $0, encoding: .utf8) })
        try Data(document.render().utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
    }
}
