import Foundation

extension BenchmarkDocument {
    /// What the figures mean and how they were measured; true for every run of the suite.
    static let howToRead = """
        - **Systems**: our gateway as one node and as two nodes behind the project's nginx (`nginx/nginx.conf`, \
        `deploy/nginx-cluster-conf`); nginx + nchan with Redis storage in 1 and 2 workers \
        (`bench/nchan.conf.template`); and the **floor**, the C server of `../shared/bench-floor` in 2 threads \
        (`--threads 2`), which does only what every Redis-backed SSE fan-out has to do, with one `send` per client \
        per loop tick: what this machine allows. It runs with the gateway's channel names (`--channel-prefix \
        'sse:{' --channel-suffix '}'`), sends no heartbeats and keeps no history. S8 runs five gateway nodes and five \
        floor processes side by side.
        - **Ratio** = ours ÷ the reference, the floor or nchan, measured in the same run. For delivered events/s \
        higher is better; for latency, memory, time and CPU lower is better. A ratio to the floor near 1 means \
        little is left to gain on this machine; the gap says where there is.
        - **Everything shares 2 cores**: the load generator (`sse-load`, SwiftNIO, 2 threads per process), \
        redis-server, the server under test, and for two nodes a second gateway and the proxying nginx. Other \
        engineers' builds and tests may run on the same machine; the row "everything else on the machine" shows \
        how much CPU they (and the kernel's network work not charged to any process) took in each measurement, and \
        scenarios run system after system back to back so such load falls on all systems alike. Absolute figures \
        are floors set by that sharing; the ratios are what carries over.
        - **CPU** from `utime + stime` in `/proc/PID/stat` of the server processes (the gateway node or nodes, every \
        nginx+nchan process, the floor process; the proxy and redis-server apart) over the measuring window: from \
        the publisher's start to the last event received in S1–S3 and S7, the idle hold in S4, S5 and S8. **CPU per \
        delivery** = that CPU ÷ unique events received by all streams; **CPU per heartbeat** = CPU over the hold ÷ \
        heartbeat comments received in it (the load processes count from a file the suite creates when the hold \
        starts). "% of a core" = CPU seconds ÷ window seconds.
        - **Delivery**: each event's data is `seq=<n> t=<ns>` padded to the size; each stream checks the sequence \
        (a jump is a gap, a repeat a duplicate) and times `now − t` (publisher and clients on one clock). Delivered \
        events/s = unique events received by all streams ÷ time from the first to the last. *Missing* = events \
        accepted × streams − unique events received (gaps plus lost tails); in S7 each stream is owed its own \
        topic's share.
        - **Publishing**: ours and the floor through the reliable path, `FCALL sse_publish` (history append, then \
        `PUBLISH` of the envelope `0x1E "sse1" <id> <event>` LF data on `sse:{topic}`), so Redis does the same work \
        for both. The floor knows no envelope: it sends the header as one `data:` line and the payload as the next \
        (about as many bytes as our `id:` line plus `data:` line), and the load generator's scanner takes the first \
        `data:` line of an event that holds a benchmark payload. nchan by `POST` to its publisher location (nchan \
        also stores every message in Redis). Pipelined, up to 64 events unanswered, over one connection.
        - **Memory**: resident size (`VmRSS`) of the server processes (all nginx processes for nchan, every node or \
        floor process for S8; the proxy listed apart). KB per stream = (RSS with the streams − RSS before) ÷ streams.
        - **Load processes**: each process may open at most 20,000 files (a hard limit here, which also bounds every \
        server process), so streams are spread over processes of at most 9,950 streams, and over the loopback \
        source addresses 127.0.0.1–254.
        """

    /// The scenario's sizes, as run.
    func describe(_ scenario: String) -> String {
        let any = Self.systems.lazy.compactMap { record($0.key, scenario) }.first { $0.subscribe != nil }
        let streams = Self.grouped(Double(any?.subscribe?.requested ?? 0))
        let publish = any?.publish
        let rate = publish.map { "\(Self.grouped($0.rate)) events/s" } ?? "?"
        let size = publish.map { "\($0.size) bytes" } ?? "?"
        let seconds = Self.format(publish?.seconds, 1)
        switch scenario {
        case "S1", "S2":
            return "\(streams) streams on one topic; \(rate) of \(size) for \(seconds) s."
        case "S3":
            return "\(streams) streams on one topic; a fixed \(rate) of \(size) for \(seconds) s: "
                + "\(Self.grouped((publish?.rate ?? 0) * Double(any?.subscribe?.requested ?? 0))) deliveries/s, "
                + "all of which must arrive (0 missing); the figure that matters is node CPU per delivery."
        case "S4":
            return "Resident size of a fresh server, then with \(streams) idle streams open."
        case "S5":
            return "\(streams) idle streams on one server from several load processes (the process file limit is "
                + "20,000 and cannot be raised), heartbeats every \(Self.format(any?.heartbeatSeconds, 0)) s; CPU "
                + "over a hold of \(Self.format(any?.windowSeconds, 0)) s. The floor sends no heartbeats (its CPU per "
                + "heartbeat is n/a); its memory per stream still applies."
        case "S7":
            return "\(streams) streams, each on its own topic; \(rate) of \(size) spread over the topics (event "
                + "k, from 1, goes to topic (k − 1) mod N) for \(seconds) s, as per-user notifications: every stream "
                + "gets "
                + "\(Self.format((publish?.rate ?? 0) / Double(max(any?.subscribe?.requested ?? 1, 1)), 0)) event(s) "
                + "per second of its own."
        case "S8":
            let perNode = any?.streamsPerNode.map { Self.grouped(Double($0)) } ?? "?"
            let own = any?.nodeOwnFiles ?? 0
            let fits = Self.grouped(Double((SuiteSizes.fileLimit - own - 16) / 100 * 100))
            return "\(streams) idle streams over five server processes on this machine, \(perNode) per process, "
                + "heartbeats every \(Self.format(any?.heartbeatSeconds, 0)) s, CPU over a hold of "
                + "\(Self.format(any?.windowSeconds, 0)) s. A process may hold 20,000 files at most and a gateway "
                + "node holds \(own) of its own before its streams, so 20,000 streams per node do not fit: at most "
                + "\(fits) do (the node's own descriptors and 16 spare, rounded down to hundreds), and a full run "
                + "asks for that many, 5 × \(fits) in all. Nodes run without a proxy (one nginx would need two "
                + "descriptors per stream)."
        default:
            return "Time to open \(streams) new streams on a fresh server (500 being opened at once per load "
                + "process; a stream is open when its response head has arrived). The same opening as S4."
        }
    }
}
