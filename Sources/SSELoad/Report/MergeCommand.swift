import ArgumentParser
import Foundation

/// `sse-load merge`: one result from the results of several subscribe processes that ran side by side.
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge the JSON results of several subscribe processes (their output files) into one.")

    @Option(help: "Output of the publisher of the run: its accepted count gives the missing deliveries.")
    var publishFile: String?
    @Argument(help: "Output files of `sse-load subscribe` (the last JSON line of each is read).")
    var files: [String]

    func run() throws {
        let results = try files.map { try SubscribeResult.decode(jsonLine: try Self.lastJSONLine(in: $0)) }
        let published = try publishFile.map {
            try JSONDecoder().decode(PublishResult.self, from: Data(try Self.lastJSONLine(in: $0).utf8)).published
        }
        guard let merged = SubscribeResult.merged(results, published: published) else {
            throw LoadError("nothing to merge: give at least one subscribe output file")
        }
        print(merged.table)
        print(merged.jsonLine)
    }

    /// The last line of a file that starts with `{`.
    static func lastJSONLine(in path: String) throws -> String {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard let line = text.split(separator: "\n").last(where: { $0.hasPrefix("{") }) else {
            throw LoadError("\(path) holds no JSON result line")
        }
        return String(line)
    }
}
