#if canImport(Glibc)
    import Glibc
#endif

/// Time sources for measurements.
enum Clock {
    /// Wall-clock time (`CLOCK_REALTIME`) in nanoseconds since 1970: the publisher stamps it into each payload and
    /// subscribers in other processes subtract it from their own reading.
    @inline(__always)
    static func wallNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }

    /// User plus system CPU time this process has used, in seconds (all threads).
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
