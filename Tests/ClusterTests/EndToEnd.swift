import Testing

/// Every end-to-end suite of this target, run one after another. Each starts its own cluster of real processes
/// and some measure time (a drain spread over its window, a post on screen within 2 s); two clusters at once on
/// the same cores would measure each other. scripts/test also runs this target apart from the other targets.
@Suite(.serialized) enum EndToEnd {}
