import ArgumentParser

/// `sse-load`: the SSE load generator used by the benchmark suite (`bench/run`).
///
/// `subscribe` opens the streams and measures delivery, `publish` sends numbered, timestamped events, `merge`
/// combines the results of several subscribe processes, and `render` writes `docs/BENCHMARKS.md` from a suite run.
@main
struct SSELoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sse-load", abstract: "Open many SSE streams and measure delivery.",
        subcommands: [SubscribeCommand.self, PublishCommand.self, MergeCommand.self, RenderCommand.self])
}
