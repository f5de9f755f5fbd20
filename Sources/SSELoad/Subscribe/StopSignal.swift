import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// SIGINT and SIGTERM end a run early but still print its results (the suite stops load processes this way).
enum StopSignal {
    private static let received = Atomic<Bool>(false)

    static var isRaised: Bool { received.load(ordering: .relaxed) }

    static func install() {
        // The handler only stores to an atomic: async-signal-safe.
        signal(SIGINT) { _ in StopSignal.received.store(true, ordering: .relaxed) }
        signal(SIGTERM) { _ in StopSignal.received.store(true, ordering: .relaxed) }
    }
}
