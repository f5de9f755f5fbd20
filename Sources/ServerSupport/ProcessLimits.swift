#if canImport(Glibc)
    import Glibc
#endif

/// Limits of the process the servers and the load generator raise at start.
public enum ProcessLimits {
    /// Raises the soft open-file limit to the hard limit: every stream is a file descriptor. Returns the new limit.
    @discardableResult
    public static func raiseFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return Int(limit.rlim_cur)
    }
}
