import CoreMetrics
import RedisClient
import Synchronization

/// The per-link series of ``MetricsBridge``, labelled by the link's address: the links come and go with the
/// topology (a Cluster opens one per shard that holds a subscribed channel), so they are made on first sight and
/// destroyed when their link is gone.
final class LinkMetrics: Sendable {
    private struct Series {
        let up: CoreMetrics.Gauge
        let probeSeconds: CoreMetrics.Gauge
        let probes: CoreMetrics.Counter
        let probeFailures: CoreMetrics.Counter
        let probesSkipped: CoreMetrics.Counter
        var lastProbes = 0
        var lastFailures = 0
        var lastSkipped = 0

        init(address: String, nodeID: String) {
            let dimensions = [("node", nodeID), ("address", address)]
            up = CoreMetrics.Gauge(label: "sse_redis_link_up", dimensions: dimensions)
            probeSeconds = CoreMetrics.Gauge(label: "sse_redis_link_probe_seconds", dimensions: dimensions)
            probes = CoreMetrics.Counter(label: "sse_redis_link_probes_total", dimensions: dimensions)
            probeFailures = CoreMetrics.Counter(label: "sse_redis_link_probe_failures_total", dimensions: dimensions)
            probesSkipped = CoreMetrics.Counter(label: "sse_redis_link_probes_skipped_total", dimensions: dimensions)
        }

        func destroy() {
            up.destroy()
            probeSeconds.destroy()
            probes.destroy()
            probeFailures.destroy()
            probesSkipped.destroy()
        }
    }

    private let nodeID: String
    private let series = Mutex<[String: Series]>([:])

    init(nodeID: String) {
        self.nodeID = nodeID
    }

    /// Records `links`: up (0/1), the last probe's round trip (0 before the first), and the counters by delta.
    func record(_ links: [RedisLinkReport]) {
        series.withLock { table in
            var seen = Set<String>()
            for link in links {
                seen.insert(link.address)
                var entry = table[link.address] ?? Series(address: link.address, nodeID: nodeID)
                entry.up.record(link.isUp && !link.lastProbeFailed ? 1 : 0)
                entry.probeSeconds.record(link.lastRoundTrip?.seconds ?? 0)
                if link.probesSent > entry.lastProbes { entry.probes.increment(by: link.probesSent - entry.lastProbes) }
                if link.probeFailures > entry.lastFailures {
                    entry.probeFailures.increment(by: link.probeFailures - entry.lastFailures)
                }
                if link.probesSkipped > entry.lastSkipped {
                    entry.probesSkipped.increment(by: link.probesSkipped - entry.lastSkipped)
                }
                entry.lastProbes = link.probesSent
                entry.lastFailures = link.probeFailures
                entry.lastSkipped = link.probesSkipped
                table[link.address] = entry
            }
            for (address, entry) in table where !seen.contains(address) {
                entry.destroy()
                table[address] = nil
            }
        }
    }
}
