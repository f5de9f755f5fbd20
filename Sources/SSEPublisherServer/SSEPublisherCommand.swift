import ArgumentParser
import Publisher

/// `sse-publisher`: the demo board and the publish API.
@main
struct SSEPublisherCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sse-publisher", abstract: "Serve the live board demo and the publish API.")

    func run() async throws {
        _ = PublisherConfiguration()
    }
}
