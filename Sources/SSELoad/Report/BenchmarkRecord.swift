/// One line of a suite run's `results.jsonl`: what one system did in one scenario, as `sse-load suite` measured it.
///
/// The load generator's own results are embedded; the server-side figures come from `/proc` (resident size from
/// `VmRSS`, CPU from `utime + stime`) of the processes the suite started. "Server" is the gateway node(s) or all
/// nginx+nchan processes (master and workers); the proxy is the nginx in front of two gateway nodes.
struct BenchmarkRecord: Codable, Sendable {
    var system: String
    var scenario: String
    var subscribe: SubscribeResult? = nil
    var publish: PublishResult? = nil
    /// Resident size (KB) before the streams were opened and once they were all open (or after the traffic).
    var serverRSSKBBefore: Double? = nil
    var serverRSSKBAfter: Double? = nil
    var proxyRSSKBBefore: Double? = nil
    var proxyRSSKBAfter: Double? = nil
    /// CPU seconds over the measuring window: the publishing and delivery (S1–S3) or the idle hold (S4–S5).
    var serverCPUSeconds: Double? = nil
    var proxyCPUSeconds: Double? = nil
    var redisCPUSeconds: Double? = nil
    var windowSeconds: Double? = nil
    /// Busy CPU of the whole machine over the window (every process and the kernel), seconds.
    var machineCPUSeconds: Double? = nil
    /// The load generator's CPU over the window (S4–S5, sampled from `/proc`).
    var loadCPUSecondsSampled: Double? = nil
    /// S1–S3: the subscribe processes' CPU when the window opened; their own total at the end, less this, plus the
    /// publisher's, is the load generator's CPU in the window.
    var loadCPUStartSeconds: Double? = nil
    /// S1–S3: when the publisher started (wall clock, ns); with the last event received it bounds the window.
    var publishStartNs: UInt64? = nil
    /// S8: streams per node asked for (the node's own descriptors leave less than 20,000 under the file limit), and
    /// the descriptors one node held before its streams opened.
    var streamsPerNode: Int? = nil
    var nodeOwnFiles: Int? = nil
    /// Heartbeat interval of the run, seconds.
    var heartbeatSeconds: Double? = nil
    /// S3: streams were cut this many seconds after opening plus the publishing time.
    var drainSeconds: Double? = nil
    /// Why a figure is missing (a process that did not start, a timeout).
    var note: String? = nil

    enum CodingKeys: String, CodingKey {
        case system, scenario, subscribe, publish, note
        case serverRSSKBBefore = "server_rss_kb_before", serverRSSKBAfter = "server_rss_kb_after"
        case proxyRSSKBBefore = "proxy_rss_kb_before", proxyRSSKBAfter = "proxy_rss_kb_after"
        case serverCPUSeconds = "server_cpu_seconds", proxyCPUSeconds = "proxy_cpu_seconds"
        case redisCPUSeconds = "redis_cpu_seconds", windowSeconds = "window_seconds"
        case heartbeatSeconds = "heartbeat_seconds", drainSeconds = "drain_seconds"
        case publishStartNs = "publish_start_ns", machineCPUSeconds = "machine_cpu_seconds"
        case loadCPUSecondsSampled = "load_cpu_seconds", loadCPUStartSeconds = "load_cpu_start_seconds"
        case streamsPerNode = "streams_per_node", nodeOwnFiles = "node_own_files"
    }

    /// Seconds the CPU figures are spread over: from the publisher's start to the last event received (S1–S3),
    /// else the hold the suite measured.
    var measuringSeconds: Double? {
        if let start = publishStartNs, let last = subscribe?.lastEventNs, last > start {
            return Double(last - start) / 1e9
        }
        return windowSeconds
    }

    /// The load generator's CPU over the window (subscribers and publisher), seconds.
    var loadCPUSeconds: Double? {
        if let loadCPUSecondsSampled { return loadCPUSecondsSampled }
        guard let total = subscribe?.cpuSeconds, let start = loadCPUStartSeconds else { return nil }
        return total - start + (publish?.cpuSeconds ?? 0)
    }

    /// CPU used in the window by everything the suite did not start (other users' builds and tests, the kernel's
    /// network work not charged to a process), as a percentage of one core over the whole window.
    var otherPercentOfCore: Double? {
        guard let machine = machineCPUSeconds, let windowSeconds, windowSeconds > 0 else { return nil }
        let ours = (serverCPUSeconds ?? 0) + (proxyCPUSeconds ?? 0) + (redisCPUSeconds ?? 0) + (loadCPUSeconds ?? 0)
        return max(0, machine - ours) / windowSeconds * 100
    }

    /// CPU over the measuring window as a percentage of one core.
    func percentOfCore(_ seconds: Double?) -> Double? {
        guard let seconds, let window = measuringSeconds, window > 0 else { return nil }
        return seconds / window * 100
    }

    /// Resident size added per open stream, KB.
    var kilobytesPerStream: Double? {
        guard let before = serverRSSKBBefore, let after = serverRSSKBAfter, let connected = subscribe?.connected,
            connected > 0
        else { return nil }
        return (after - before) / Double(connected)
    }

    /// Resident size the proxy added per open stream, KB.
    var proxyKilobytesPerStream: Double? {
        guard let before = proxyRSSKBBefore, let after = proxyRSSKBAfter, let connected = subscribe?.connected,
            connected > 0
        else { return nil }
        return (after - before) / Double(connected)
    }

    /// Unique events received by all streams: the deliveries.
    var deliveries: Double? {
        subscribe.map { Double($0.events - $0.duplicates) }
    }

    /// Server CPU per delivery, µs (the node or nodes, every nchan process, the floor; not the proxy or Redis).
    var cpuPerDeliveryMicroseconds: Double? {
        guard let cpu = serverCPUSeconds, let deliveries, deliveries > 0 else { return nil }
        return cpu * 1e6 / deliveries
    }

    /// Heartbeats received in the measuring window (the hold): comments after the suite armed the load processes at
    /// the window's start; without that count (an older run), every heartbeat of the run.
    var heartbeatsInWindow: Int64? {
        if let armed = subscribe?.commentsAfterArmed { return Int64(armed) }
        return heartbeatsReceived
    }

    /// Server CPU over the hold per heartbeat received in it, µs (S5, S8).
    var cpuPerHeartbeatMicroseconds: Double? {
        guard let cpu = serverCPUSeconds, let beats = heartbeatsInWindow, beats > 0 else { return nil }
        return cpu * 1e6 / Double(beats)
    }

    /// Heartbeat comments received during the run: every comment but the one each stream opens with.
    var heartbeatsReceived: Int64? {
        guard let subscribe else { return nil }
        return Int64(subscribe.comments) - Int64(subscribe.connected)
    }
}
