import Foundation
import Gateway
import LocalRedis
import SSETestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension EndToEnd {
    /// `deploy/local-cluster`, the README's first command, run for real on free ports with its own state folder and
    /// the binaries this test run built (SSE_BIN_DIR, so it does not build a release on top).
    @Suite("deploy/local-cluster up, status, down")
    struct LocalClusterScriptTests {
        static let script = NginxProcess.repositoryRoot + "/deploy/local-cluster"
        static let processes = ["redis", "gateway-1", "gateway-2", "gateway-3", "publisher", "nginx"]

        struct Run {
            var environment: [String: String]
            var directory: String
            var httpPort: Int
            var httpsPort: Int

            /// A run folder of its own and free loopback ports for every process, with `nodes` gateway nodes.
            static func fresh(_ purpose: String, nodes: Int) throws -> Run {
                let directory = try makeDirectory(purpose)
                // Each process gets its own port: a port the kernel offered once may be offered again before
                // anything binds it, so the draws are kept apart (and clear of the nodes' range).
                let base = try freeConsecutivePorts(nodes)
                var taken = Set(base..<(base + nodes))
                func draw() throws -> Int {
                    for _ in 0..<50 {
                        let port = try freeLoopbackPort()
                        if taken.insert(port).inserted { return port }
                    }
                    throw ClusterTestError(message: "found no distinct free loopback port in 50 tries")
                }
                let httpPort = try draw()
                let httpsPort = try draw()
                let binaries = URL(fileURLWithPath: GatewayProcess.executable).deletingLastPathComponent().path
                return Run(
                    environment: [
                        "SSE_HTTP_PORT": "\(httpPort)", "SSE_HTTPS_PORT": "\(httpsPort)",
                        "SSE_GATEWAY_BASE_PORT": "\(base)",
                        "SSE_PUBLISHER_PORT": "\(try draw())",
                        "SSE_REDIS_PORT": "\(try draw())",
                        "SSE_RUN_DIR": directory, "SSE_BIN_DIR": binaries, "SSE_GATEWAY_NODES": "\(nodes)",
                        "SSE_READY_TIMEOUT": "30",
                    ], directory: directory, httpPort: httpPort, httpsPort: httpsPort)
            }

            var certificate: String { directory + "/tls/cert.pem" }

            func callAsFunction(_ command: String, _ extra: [String: String] = [:]) async throws -> ProgramResult {
                try await runProgram(
                    "/bin/bash", [LocalClusterScriptTests.script, command],
                    environment: environment.merging(extra) { $1 }, timeout: .seconds(180))
            }

            /// The pid recorded for `name`, if there is a pid file.
            func pid(_ name: String) -> Int32? {
                guard let text = try? String(contentsOfFile: "\(directory)/pids/\(name).pid", encoding: .utf8) else {
                    return nil
                }
                return text.split(separator: " ").first.flatMap { Int32($0) }
            }
        }

        @Test func upStartsEverythingOnceDownStopsExactlyWhatUpStarted() async throws {
            let run = try Run.fresh("local-cluster", nodes: 3)
            defer { try? FileManager.default.removeItem(atPath: run.directory) }
            do {
                try await exercise(run, httpPort: run.httpPort, directory: run.directory)
            } catch {
                _ = try? await run("down")
                throw error
            }
        }

        /// `SSE_REDIS_TOPOLOGY=sentinel` (issue 15, point 7): a master, a replica and three sentinels on loopback, the
        /// node and the publisher on the redis-sentinel:// URL; after `SENTINEL FAILOVER` a publish through nginx
        /// lands on the new master and reaches a stream; `down` stops every process `up` started.
        @Test func theSentinelTopologyRunsAGroupThatTheServicesFollowThroughAFailover() async throws {
            var run = try Run.fresh("local-cluster-sentinel", nodes: 1)
            defer { try? FileManager.default.removeItem(atPath: run.directory) }
            // The master, the replica and the three sentinels take five ports in a row.
            let redisPort = try freeConsecutivePorts(5)
            run.environment["SSE_REDIS_PORT"] = "\(redisPort)"
            run.environment["SSE_REDIS_TOPOLOGY"] = "sentinel"
            let names = ["redis", "redis-replica", "sentinel-1", "sentinel-2", "sentinel-3", "gateway-1", "publisher"]
            do {
                let up = try await run("up")
                #expect(up.status == 0, "up: \(up.output)")
                let pids = (names + ["nginx"]).map { run.pid($0) }
                #expect(pids.allSatisfy { $0.map(isAlive) == true }, "every process runs: \(pids)")
                let status = try await run("status")
                for name in names { #expect(status.output.contains("\(name) "), "\(status.output)") }

                func redisCLI(_ port: Int, _ arguments: String...) async throws -> String {
                    try await runProgram("/usr/bin/redis-cli", ["-p", "\(port)"] + arguments).output
                }
                let stream = try await SSETestClient.open(port: run.httpPort, path: "/sse?topic=news")
                defer { stream.close() }
                try await stream.waitUntilConnected()
                #expect(try await redisCLI(redisPort + 2, "SENTINEL", "FAILOVER", "sse") == "OK\n")
                try await waitUntil("the sentinels to name the replica as the master", timeout: .seconds(30)) {
                    try await redisCLI(redisPort + 2, "SENTINEL", "get-master-addr-by-name", "sse")
                        == "127.0.0.1\n\(redisPort + 1)\n"
                }
                // Until Sentinel turns the old master into a replica it still takes writes, which are then lost
                // (and told with resync): publish once it refuses them, so the event is on the new master. Sentinel
                // converts it on an INFO refresh (every 10 s) at least 8 s after it saw its role change, so this
                // takes 10-20 s, more on a loaded machine (a fresh-clone run passed 30 s).
                try await waitUntil("the old master to be a replica", timeout: .seconds(60)) {
                    try await redisCLI(redisPort, "ROLE").hasPrefix("slave\n")
                }
                let token = try String(contentsOfFile: run.directory + "/publish-token", encoding: .utf8)
                let json = #"{"topic":"news","data":"after the failover"}"#
                // Publishes fail (503) while the publisher's connection moves; the first accepted one is on the
                // new master.
                try await waitUntil("a publish accepted after the failover", timeout: .seconds(30)) {
                    try await HTTPProbe.send(
                        port: run.httpPort,
                        raw: "POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                            + "Authorization: Bearer \(token)\r\nContent-Type: application/json\r\n"
                            + "Idempotency-Key: failover-1\r\nContent-Length: \(json.utf8.count)\r\n\r\n" + json
                    ).status == 202
                }
                #expect(try await redisCLI(redisPort + 1, "XLEN", "sse:{news}:history") == "1\n")
                try await waitUntil("the event on the stream", timeout: .seconds(30)) {
                    stream.events.map(\.data) == ["after the failover"]
                }

                let down = try await run("down")
                #expect(down.status == 0, "down: \(down.output)")
                #expect(pids.allSatisfy { $0.map(isAlive) == false }, "every process stopped: \(pids)")
            } catch {
                _ = try? await run("down")
                throw error
            }
        }

        @Test func theClusterTopologyRunsSixNodesThatTheServicesUseAndThatComeBackAsTheyWereAfterDownAndUp()
            async throws
        {
            var run = try Run.fresh("local-cluster-cluster", nodes: 1)
            defer { try? FileManager.default.removeItem(atPath: run.directory) }
            // Three primaries and three replicas take six ports in a row (their bus ports are 10000 above).
            let redisPort = try freeClusterPorts(6)
            run.environment["SSE_REDIS_PORT"] = "\(redisPort)"
            run.environment["SSE_REDIS_TOPOLOGY"] = "cluster"
            let names = (1...6).map { "redis-node-\($0)" } + ["gateway-1", "publisher"]
            func redisCLI(_ arguments: String...) async throws -> String {
                try await runProgram("/usr/bin/redis-cli", ["-c", "-p", "\(redisPort)"] + arguments).output
            }
            do {
                let up = try await run("up")
                #expect(up.status == 0, "up: \(up.output)")
                #expect(up.output.contains("creating the Redis Cluster"))
                let pids = (names + ["nginx"]).map { run.pid($0) }
                #expect(pids.allSatisfy { $0.map(isAlive) == true }, "every process runs: \(pids)")
                let status = try await run("status")
                for name in names { #expect(status.output.contains("\(name) "), "\(status.output)") }
                #expect(try await redisCLI("CLUSTER", "INFO").contains("cluster_size:3"))

                // A stream of two topics carries stream positions; a publish through nginx reaches it.
                let stream = try await SSETestClient.open(port: run.httpPort, path: "/sse?topic=news&topic=board")
                defer { stream.close() }
                try await stream.waitUntilConnected()
                let token = try String(contentsOfFile: run.directory + "/publish-token", encoding: .utf8)
                let json = #"{"topic":"news","data":"on a cluster"}"#
                let answer = try await HTTPProbe.send(
                    port: run.httpPort,
                    raw: "POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                        + "Authorization: Bearer \(token)\r\nContent-Type: application/json\r\n"
                        + "Content-Length: \(json.utf8.count)\r\n\r\n" + json)
                #expect(answer.status == 202, "\(answer.body)")
                try await stream.waitForEvents(1)
                #expect(stream.events.map(\.data) == ["on a cluster"])
                #expect(stream.events.first?.id?.hasPrefix("p1.") == true)
                #expect(try await redisCLI("XLEN", "sse:{news}:history") == "1\n")
                // Fire-and-forget from any service: SPUBLISH on the topic's shard (redis-cli -c follows the MOVED).
                #expect(try await redisCLI("SPUBLISH", "sse:{news}", "fired") == "1\n")
                try await stream.waitForEvents(2)
                #expect(stream.events.map(\.data) == ["on a cluster", "fired"])
                #expect(stream.events.last?.id == nil)

                let down = try await run("down")
                #expect(down.status == 0, "down: \(down.output)")
                #expect(pids.allSatisfy { $0.map(isAlive) == false }, "every process stopped: \(pids)")
                // Up again: the nodes rejoin from their nodes.conf (no second create) with their data.
                let again = try await run("up")
                #expect(again.status == 0, "up: \(again.output)")
                #expect(!again.output.contains("creating the Redis Cluster"))
                #expect(try await redisCLI("XLEN", "sse:{news}:history") == "1\n")
                let last = try await run("down")
                #expect(last.status == 0, "down: \(last.output)")
            } catch {
                _ = try? await run("down")
                throw error
            }
        }

        private func exercise(_ run: Run, httpPort: Int, directory: String) async throws {
            let up = try await run("up")
            #expect(up.status == 0, "up: \(up.output)")
            #expect(up.output.contains("Demo:     http://127.0.0.1:\(httpPort)/\n"))
            #expect(
                up.output.contains(
                    "HTTPS:    https://127.0.0.1:\(run.httpsPort)/   (HTTP/2; self-signed certificate \(run.certificate))\n"
                ))
            #expect(up.output.contains("writing a self-signed certificate"))
            try await expectHTTPS(run)
            let certificate = try Data(contentsOf: URL(fileURLWithPath: run.certificate))
            #expect(up.output.contains("http://127.0.0.1:\(httpPort)/nodes/3/sse-metrics"))
            #expect(up.output.contains("Logs:     \(directory)/logs\n"))
            let pids = Self.processes.map { run.pid($0) }
            #expect(pids.allSatisfy { $0.map(isAlive) == true }, "every process runs: \(pids)")

            // The cluster works through nginx: three nodes by number, the board, a post reaching a stream.
            for number in 1...3 {
                let metrics = try await MetricsSnapshot.fetch(port: httpPort, path: "/nodes/\(number)/sse-metrics")
                #expect(metrics.nodeID == "gw-\(number)")
            }
            let page = try await HTTPProbe.get(port: httpPort, path: "/")
            #expect(page.status == 200 && page.body.contains("id=\"posts\""))
            // The dashboard it prints, through nginx, with the three nodes registered.
            #expect(up.output.contains("Dashboard: http://127.0.0.1:\(httpPort)/dashboard "))
            try await waitUntil("the dashboard shows the three nodes", timeout: .seconds(10)) {
                let dashboard = try await HTTPProbe.get(port: httpPort, path: "/dashboard")
                return dashboard.status == 200
                    && (1...3).allSatisfy {
                        dashboard.body.contains("<tr data-node=\"gw-\($0)\" data-state=\"ready\">")
                    }
            }
            let stream = try await SSETestClient.open(port: httpPort, path: "/sse?topic=board")
            defer { stream.close() }
            try await stream.waitUntilConnected()
            let body = "author=Ada&text=" + PublisherProcess.formEncoded("hello from the run command")
            let posted = try await HTTPProbe.send(
                port: httpPort,
                raw: "POST /add_post HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                    + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
                    + body)
            #expect(posted.status == 303)
            try await stream.waitForEvents(1)
            #expect(stream.events.contains { $0.data.contains("hello from the run command") })
            // The publish API, with the token up generated.
            let token = try String(contentsOfFile: directory + "/publish-token", encoding: .utf8)
            #expect(token.count == 32)
            let json = #"{"topic":"board","data":"via the publish API"}"#
            let published = try await HTTPProbe.send(
                port: httpPort,
                raw: "POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                    + "Authorization: Bearer \(token)\r\nContent-Type: application/json\r\n"
                    + "Content-Length: \(json.utf8.count)\r\n\r\n" + json)
            #expect(published.status == 202, "\(published.head)\(published.body)")
            try await waitUntil("the published event on the stream") {
                stream.events.contains { $0.data == "via the publish API" }
            }

            // Twice is safe: nothing new starts, nothing restarts.
            let again = try await run("up")
            #expect(again.status == 0, "second up: \(again.output)")
            #expect(!again.output.contains("starting"), "\(again.output)")
            #expect(
                !again.output.contains("writing a self-signed certificate") && !again.output.contains("reloading"),
                "\(again.output)")
            #expect(Self.processes.map { run.pid($0) } == pids)
            #expect(
                try Data(contentsOf: URL(fileURLWithPath: run.certificate)) == certificate, "the certificate is reused")

            let status = try await run("status")
            #expect(status.status == 0)
            for name in Self.processes {
                #expect(statusLine(status.output, name)?.hasSuffix(" ready") == true, "\(name): \(status.output)")
            }
            #expect(status.output.contains("Logs: \(directory)/logs"))
            #expect(status.output.contains("Demo: http://127.0.0.1:\(httpPort)/\n"))
            #expect(
                status.output.contains(
                    "HTTPS: https://127.0.0.1:\(run.httpsPort)/ (HTTP/2; certificate \(run.certificate))\n"))

            // A node that died is started again by the next `up`; the others are left alone.
            let second = try #require(run.pid("gateway-2"))
            kill(second, SIGKILL)
            try await waitUntil("gateway-2 gone") { !isAlive(second) }
            let healed = try await run("up")
            #expect(healed.status == 0, "\(healed.output)")
            #expect(healed.output.contains("starting gateway-2") && !healed.output.contains("starting gateway-1"))
            let newSecond = run.pid("gateway-2")
            #expect(newSecond != nil && newSecond != second && newSecond.map(isAlive) == true)
            #expect(run.pid("gateway-1") == pids[1] && run.pid("nginx") == pids[5])

            // Fewer nodes: nginx is reloaded without node 3, which then drains and stops.
            let third = try #require(run.pid("gateway-3"))
            let shrunk = try await run("up", ["SSE_GATEWAY_NODES": "2"])
            #expect(shrunk.status == 0, "\(shrunk.output)")
            #expect(shrunk.output.contains("reloading nginx"))
            #expect(!isAlive(third) && run.pid("gateway-3") == nil)
            #expect(run.pid("nginx") == pids[5])
            try await waitUntil("nginx serves the new configuration") {
                (try? await HTTPProbe.get(port: httpPort, path: "/nodes/3/sse-metrics"))?.status == 404
            }

            // And back to three: a new node 3 joins nginx's pool.
            let grown = try await run("up")
            #expect(grown.status == 0, "\(grown.output)")
            #expect(grown.output.contains("starting gateway-3") && grown.output.contains("reloading nginx"))
            let newThird = run.pid("gateway-3")
            #expect(newThird != nil && newThird != third && run.pid("nginx") == pids[5])
            let joined = try await HTTPProbe.get(port: httpPort, path: "/nodes/3/sse-metrics")
            #expect(joined.status == 200 && joined.body.contains("\"node_id\":\"gw-3\""), "\(joined.body)")

            let down = try await run("down")
            #expect(down.status == 0, "down: \(down.output)")
            let recorded = pids.compactMap { $0 } + [newSecond, newThird].compactMap { $0 }
            #expect(recorded.filter(isAlive).isEmpty, "every process up started has stopped")
            #expect(Self.processes.allSatisfy { run.pid($0) == nil }, "pid files removed")
            #expect((try? await HTTPProbe.get(port: httpPort, path: "/lb-healthz")) == nil, "nothing listens any more")
            #expect((try? await HTTPProbe.get(port: run.httpsPort, path: "/lb-healthz")) == nil, "nor on HTTPS")
            let downAgain = try await run("down")
            #expect(downAgain.status == 0, "down twice is safe: \(downAgain.output)")
        }
    }
}

/// The HTTPS front door answers over HTTP/2 with a certificate that curl, trusting only that certificate, accepts
/// for 127.0.0.1 and for localhost; the key is readable by its owner only.
private func expectHTTPS(_ run: EndToEnd.LocalClusterScriptTests.Run) async throws {
    let curl = try findExecutable("curl")
    for (host, extra) in [
        ("127.0.0.1", [String]()), ("localhost", ["--resolve", "localhost:\(run.httpsPort):127.0.0.1"]),
    ] {
        let result = try await runProgram(
            curl,
            [
                "-sS", "-o", "/dev/null", "--max-time", "5", "--cacert", run.certificate, "-w",
                "%{http_version} %{http_code}",
            ]
                + extra + ["https://\(host):\(run.httpsPort)/"])
        #expect(result.status == 0 && result.output == "2 200", "the demo page over HTTPS at \(host): \(result.output)")
    }
    let key = try FileManager.default.attributesOfItem(atPath: run.directory + "/tls/key.pem")
    #expect((key[.posixPermissions] as? NSNumber)?.intValue == 0o600)
}

/// The `status` line of process `name` (columns: name, pid, port, state).
private func statusLine(_ output: String, _ name: String) -> String? {
    output.split(separator: "\n").first { $0.split(separator: " ").first.map(String.init) == name }.map(String.init)
}

/// Whether `pid` is a live process (a zombie, already ended, is not).
private func isAlive(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
    let state = stat.split(separator: ")").last?.split(separator: " ").first
    return state != "Z" && state != "X"
}

/// The first of `count` consecutive loopback ports that were all free a moment ago.
func freeConsecutivePorts(_ count: Int) throws -> Int {
    for _ in 0..<50 {
        let first = try freeLoopbackPort()
        if first + count <= 65535 && (1..<count).allSatisfy({ portIsFree(first + $0) }) { return first }
    }
    throw ClusterTestError(message: "found no \(count) consecutive free loopback ports in 50 tries")
}

/// `count` consecutive free ports whose cluster bus ports (10000 above) are free too, below the kernel's ephemeral
/// range (32768 and up), where no outgoing connection can take one meanwhile.
func freeClusterPorts(_ count: Int) throws -> Int {
    for _ in 0..<200 {
        let first = Int.random(in: 20000...(22700 - count))
        if (0..<count).allSatisfy({ portIsFree(first + $0) && portIsFree(first + 10000 + $0) }) { return first }
    }
    throw ClusterTestError(message: "found no \(count) consecutive free loopback ports with free bus ports")
}

private func portIsFree(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
    }
}
