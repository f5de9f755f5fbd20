extension BenchmarkDocument {
    /// The figures shown for a scenario, in order.
    func rows(for scenario: String) -> [Row] {
        let mb = 1024.0
        func sub(_ record: BenchmarkRecord) -> SubscribeResult? { record.subscribe }
        let opened = Row(label: Self.openedLabel, better: .neither, digits: 0) {
            sub($0).map { Double($0.connected) }
        }
        switch scenario {
        case "S1", "S2", "S3", "S7":
            var rows = [
                opened,
                Row(label: "events accepted by the server", better: .neither, digits: 0) {
                    $0.publish.map { Double($0.published) }
                },
                Row(label: "publish rate achieved, events/s", better: .higher, digits: 0) {
                    $0.publish?.publishedPerSecond
                },
                Row(label: "**delivered events/s**", better: .higher, digits: 0) { sub($0)?.eventsPerSecond },
                Row(label: "latency p50, ms", better: .lower, digits: 2) { sub($0)?.latencyMs?.p50 },
                Row(label: "latency p90, ms", better: .lower, digits: 2) { sub($0)?.latencyMs?.p90 },
                Row(label: "**latency p99, ms**", better: .lower, digits: 2) { sub($0)?.latencyMs?.p99 },
                Row(label: "latency p99.9, ms", better: .lower, digits: 2) { sub($0)?.latencyMs?.p99_9 },
                Row(label: "latency max, ms", better: .lower, digits: 2) { sub($0)?.latencyMs?.max },
                Row(label: "gaps", better: .lower, digits: 0) { sub($0).map { Double($0.gaps) } },
                Row(label: "duplicates", better: .lower, digits: 0) { sub($0).map { Double($0.duplicates) } },
                Row(label: "missing deliveries", better: .lower, digits: 0) { sub($0)?.missing.map(Double.init) },
                Row(label: "streams dropped by the server", better: .lower, digits: 0) {
                    sub($0).map { Double($0.dropped) }
                },
            ]
            rows.append(
                Row(label: "**server CPU µs per delivery**", better: .lower, digits: 2) {
                    $0.cpuPerDeliveryMicroseconds
                })
            rows += cpuRows()
            rows.append(
                Row(label: "server RSS after, MB", better: .lower, digits: 1) { $0.serverRSSKBAfter.map { $0 / mb } })
            return rows
        case "S4", "S5", "S8":
            var rows = [
                opened,
                Row(label: "server RSS before, MB", better: .lower, digits: 1) { $0.serverRSSKBBefore.map { $0 / mb } },
                Row(label: "server RSS with the streams, MB", better: .lower, digits: 1) {
                    $0.serverRSSKBAfter.map { $0 / mb }
                },
                Row(label: "**KB per stream**", better: .lower, digits: 2) { $0.kilobytesPerStream },
                Row(label: "proxy RSS with the streams, MB", better: .lower, digits: 1) {
                    $0.proxyRSSKBAfter.map { $0 / mb }
                },
                Row(label: "proxy KB per stream", better: .lower, digits: 2) { $0.proxyKilobytesPerStream },
            ]
            if scenario == "S8" {
                rows += [
                    Row(label: "streams per process", better: .neither, digits: 0) {
                        $0.streamsPerNode.map(Double.init)
                    },
                    Row(label: "descriptors a process held before its streams", better: .neither, digits: 0) {
                        $0.nodeOwnFiles.map(Double.init)
                    },
                ]
            }
            if scenario == "S5" || scenario == "S8" {
                rows += [
                    Row(label: "heartbeats received", better: .neither, digits: 0) {
                        $0.heartbeatsReceived.map(Double.init)
                    },
                    Row(label: "heartbeats received in the hold", better: .neither, digits: 0) {
                        $0.heartbeatsInWindow.map(Double.init)
                    },
                    Row(label: "streams dropped", better: .lower, digits: 0) { sub($0).map { Double($0.dropped) } },
                    Row(label: "**server CPU µs per heartbeat**", better: .lower, digits: 2) {
                        $0.cpuPerHeartbeatMicroseconds
                    },
                ]
                rows += cpuRows()
            }
            return rows
        default:
            return [
                opened,
                Row(label: "**seconds to open all**", better: .lower, digits: 2) { sub($0)?.connectSeconds },
                Row(label: "streams opened per second", better: .higher, digits: 0) {
                    sub($0).map { $0.connectSeconds > 0 ? Double($0.connected) / $0.connectSeconds : 0 }
                },
            ]
        }
    }

    /// Who used the cores during the measuring window.
    func cpuRows() -> [Row] {
        [
            Row(label: "server CPU, % of a core", better: .lower, digits: 0) { $0.percentOfCore($0.serverCPUSeconds) },
            Row(label: "proxy CPU, % of a core", better: .lower, digits: 0) { $0.percentOfCore($0.proxyCPUSeconds) },
            Row(label: "redis-server CPU, % of a core", better: .lower, digits: 0) {
                $0.percentOfCore($0.redisCPUSeconds)
            },
            Row(label: "load generator CPU, % of a core", better: .neither, digits: 0) {
                $0.percentOfCore($0.loadCPUSeconds)
            },
            Row(label: "everything else on the machine, % of a core", better: .neither, digits: 0) {
                $0.otherPercentOfCore
            },
        ]
    }
}
