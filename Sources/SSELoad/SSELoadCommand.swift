import ArgumentParser

/// `sse-load`: the SSE load generator used by the benchmark suite.
@main
struct SSELoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sse-load", abstract: "Open many SSE streams and measure delivery.")

    func run() async throws {}
}
