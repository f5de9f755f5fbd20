import Foundation
import LocalRedis

#if canImport(Glibc)
    import Glibc
#endif

extension SuiteRunner {
    /// S1, S2, S3, S7: streams open, then the publisher at a fixed rate, then the subscribers report once nothing
    /// has arrived for ``idleExit`` seconds after the publisher is done.
    func delivery(_ scenario: Scenario, _ size: SuiteSizes.Delivery, on system: BenchSystem, tag: String)
        async throws -> BenchmarkRecord
    {
        let topic = "\(scenario.rawValue.lowercased())-\(UInt16.random(in: 0...UInt16.max))"
        Self.say(
            "\(system.rawValue) \(scenario.rawValue): \(size.streams) streams"
                + (size.topics > 0 ? " on \(size.topics) topics" : "") + ", \(size.rate) events/s for \(size.seconds) s"
        )
        let running = try await start(system, tag: tag)
        var fleet: LoadFleet?
        do {
            let armed = workspace.work + "/load/\(tag)-published"
            try? FileManager.default.removeItem(atPath: armed)
            let load = try LoadFleet.start(
                streams: size.streams, topic: topic, topics: size.topics, on: running, duration: size.seconds + 300,
                tag: tag, extra: ["--idle-exit", String(Self.idleExit), "--armed-by", armed], in: workspace)
            fleet = load
            try await load.waitUntilOpen(timeout: .seconds(180))
            try await Task.sleep(for: .seconds(1))
            let start = CPUSample(running, load: load.pids)
            let publishStart = Clock.wallNanoseconds()
            let publishOutput = workspace.work + "/load/\(tag)-publish.out"
            var arguments =
                ["publish"] + running.publishArguments(topic: topic) + [
                    "--count", String(size.events), "--rate", String(size.rate), "--size", String(sizes.payloadSize),
                    "--duration", String(size.seconds + 60),
                ]
            if size.topics > 0 { arguments += ["--topics", String(size.topics)] }
            workspace.record([workspace.load] + arguments, output: publishOutput)
            let publisher = try ChildProcess(
                workspace.load, arguments, output: .files(output: publishOutput, error: publishOutput + ".err"))
            if await publisher.exit(within: .seconds(size.seconds + 90)) == nil {
                publisher.kill()
                Self.say("\(tag): the publisher ran over its time; see \(publishOutput)")
            }
            _ = FileManager.default.createFile(atPath: armed, contents: nil)
            await load.finish(timeout: .seconds(size.seconds + 330))
            let end = CPUSample(running, load: [])
            let published = (try? MergeCommand.lastJSONLine(in: publishOutput)).flatMap {
                try? JSONDecoder().decode(PublishResult.self, from: Data($0.utf8))
            }
            var record = BenchmarkRecord(system: system.rawValue, scenario: scenario.rawValue)
            record.publish = published
            record.subscribe = load.result(published: published.map { $0.published / UInt64(max(size.topics, 1)) })
            record.serverRSSKBAfter = ProcessStats.residentKB(running.serverPIDs)
            record.proxyRSSKBAfter = running.proxy == nil ? nil : ProcessStats.residentKB(running.proxyPIDs)
            Self.fill(&record, from: start, to: end, system: running)
            record.loadCPUStartSeconds = start.load
            record.publishStartNs = publishStart
            record.heartbeatSeconds = Double(heartbeat)
            await running.stop()
            if let subscribe = record.subscribe { Self.say(subscribe.table) }
            return record
        } catch {
            fleet?.interrupt()
            await fleet?.finish(timeout: .seconds(10))
            await running.stop()
            throw error
        }
    }

    /// S4/S6, S5, S8: resident size before and with idle streams, and CPU over a hold.
    ///
    /// For S8, `streams` is ignored: each of the five nodes gets ``SuiteSizes/s8StreamsPerNode`` streams, or fewer
    /// when that many would not fit under the file limit beside the node's own descriptors (counted once it runs).
    func idle(_ scenario: Scenario, streams wanted: Int, hold: Int, on system: BenchSystem, tag: String)
        async throws -> BenchmarkRecord
    {
        let running = try await start(system, tag: tag)
        var fleet: LoadFleet?
        do {
            try await Task.sleep(for: .seconds(1))
            var record = BenchmarkRecord(system: system.rawValue, scenario: scenario.rawValue)
            var streams = wanted
            if scenario == .s8 {
                let own = running.serverPIDs.map { ProcessStats.openFiles($0) }.max() ?? 0
                // Room for the node's own descriptors and a few spare (a log reopened, a Redis reconnect), in whole
                // hundreds so the count is easy to name.
                let fits = (SuiteSizes.fileLimit - own - 16) / 100 * 100
                record.nodeOwnFiles = own
                record.streamsPerNode = min(sizes.s8StreamsPerNode, fits)
                streams = record.streamsPerNode! * system.nodes
            }
            Self.say("\(system.rawValue) \(scenario.rawValue): \(streams) idle streams, hold \(hold) s")
            record.serverRSSKBBefore = ProcessStats.residentKB(running.serverPIDs)
            record.proxyRSSKBBefore = running.proxy == nil ? nil : ProcessStats.residentKB(running.proxyPIDs)
            // The load processes count the heartbeats from when this file appears: the window's start.
            let window = workspace.work + "/load/\(tag)-window"
            try? FileManager.default.removeItem(atPath: window)
            let load = try LoadFleet.start(
                streams: streams, topic: "idle-\(UInt16.random(in: 0...UInt16.max))", on: running,
                duration: hold + 300, tag: tag, extra: ["--armed-by", window], in: workspace)
            fleet = load
            try await load.waitUntilOpen(timeout: .seconds(300))
            try await Task.sleep(for: .seconds(2))
            record.serverRSSKBAfter = ProcessStats.residentKB(running.serverPIDs)
            record.proxyRSSKBAfter = running.proxy == nil ? nil : ProcessStats.residentKB(running.proxyPIDs)
            let start = CPUSample(running, load: load.pids)
            _ = FileManager.default.createFile(atPath: window, contents: nil)
            try await Task.sleep(for: .seconds(hold))
            let end = CPUSample(running, load: load.pids)
            Self.fill(&record, from: start, to: end, system: running)
            record.loadCPUSecondsSampled = end.load - start.load
            record.heartbeatSeconds = Double(heartbeat)
            load.interrupt()
            await load.finish(timeout: .seconds(60))
            await running.stop()
            record.subscribe = load.result(published: nil)
            if let subscribe = record.subscribe { Self.say(subscribe.table) }
            return record
        } catch {
            fleet?.interrupt()
            await fleet?.finish(timeout: .seconds(10))
            await running.stop()
            throw error
        }
    }
}
