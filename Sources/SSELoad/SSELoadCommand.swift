import ArgumentParser

/// `sse-load`: the SSE load generator and the benchmark suite (`bench/run` builds it and runs `suite`).
///
/// `subscribe` opens the streams and measures delivery, `publish` sends numbered, timestamped events, `merge`
/// combines the results of several subscribe processes, `suite` runs the whole benchmark, `render` writes
/// `docs/BENCHMARKS.md` again from a suite run's `results.jsonl`, and `topology` measures what a node pays per
/// delivered event on one Redis and on a Cluster of three shards.
@main
struct SSELoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sse-load", abstract: "Open many SSE streams and measure delivery.",
        subcommands: [
            SubscribeCommand.self, PublishCommand.self, MergeCommand.self, SuiteCommand.self, RenderCommand.self,
            TopologyCommand.self,
        ])
}
