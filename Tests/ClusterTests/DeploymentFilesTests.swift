import Foundation
import LocalRedis
import SSETestSupport
import Testing

extension EndToEnd {
    /// The files that deploy the cluster elsewhere (Compose, systemd, Prometheus), checked by the tools that read
    /// them: no Docker engine or systemd runs here, but Debian's `docker-compose config` and `systemd-analyze verify`
    /// validate them, and the alert rules are checked against the series a real node exports.
    @Suite("Deployment files: Compose, systemd units, Prometheus")
    struct DeploymentFilesTests {
        static let root = NginxProcess.repositoryRoot

        /// `docker-compose config` (Debian's docker-compose) on docker-compose.yml, as JSON via python3-yaml.
        static func composeConfiguration() async throws -> [String: Any] {
            let compose = try findExecutable("docker-compose")
            let checked = try await runProgram(compose, ["-f", root + "/docker-compose.yml", "config", "-q"])
            #expect(checked.status == 0, "docker-compose config: \(checked.output)")
            let json = try await runProgram(
                "/usr/bin/python3",
                [
                    "-c",
                    "import json, subprocess, sys, yaml; "
                        + "out = subprocess.run([sys.argv[1], '-f', sys.argv[2], 'config'], check=True, "
                        + "capture_output=True).stdout; print(json.dumps(yaml.safe_load(out)))",
                    compose, root + "/docker-compose.yml",
                ])
            #expect(json.status == 0, "\(json.output)")
            return try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any] ?? [:]
        }

        @Test func composeFileIsValidAndDescribesTheWholeCluster() async throws {
            let configuration = try await Self.composeConfiguration()
            let services = try #require(configuration["services"] as? [String: [String: Any]])
            let sentinelProfile: Set = ["redis-replica", "sentinel1", "sentinel2", "sentinel3"]
            let clusterProfile = Set((1...6).map { "redis-node\($0)" } + ["redis-cluster-init"])
            #expect(
                Set(services.keys)
                    == Set(["redis", "gateway1", "gateway2", "gateway3", "publisher", "nginx", "prometheus", "grafana"])
                    .union(sentinelProfile).union(clusterProfile))
            for (name, service) in services {
                let profiles = service["profiles"] as? [String] ?? []
                if sentinelProfile.contains(name) {
                    #expect(profiles == ["sentinel"], "\(name) is in profile sentinel")
                }
                if clusterProfile.contains(name) { #expect(profiles == ["cluster"], "\(name) is in profile cluster") }
                if ["prometheus", "grafana"].contains(name) {
                    #expect(profiles == ["monitoring"], "\(name) is in profile monitoring")
                }
                if name == "redis-cluster-init" {
                    #expect(service["restart"] as? String == "no", "the cluster is created once")
                    continue
                }
                #expect(service["restart"] as? String == "unless-stopped", "\(name) restarts by itself")
                if !["prometheus", "grafana"].contains(name), !sentinelProfile.contains(name) {
                    #expect(service["healthcheck"] != nil, "\(name) has a health check")
                }
            }
            for number in 1...3 {
                let gateway = try #require(services["gateway\(number)"])
                let environment = try #require(gateway["environment"] as? [String: Any])
                #expect(environment["SSE_NODE_ID"] as? String == "gw-\(number)")
                #expect(environment["SSE_PORT"] as? String == "8080")
                #expect(environment["SSE_HOST"] as? String == "0.0.0.0")
                #expect(environment["SSE_REDIS_URL"] as? String == "redis://redis:6379")
                let build = try #require(gateway["build"] as? [String: Any])
                #expect(build["dockerfile"] as? String == "deploy/Dockerfile")
            }
            let nginx = try #require(services["nginx"])
            let mounts = (nginx["volumes"] as? [Any] ?? []).map { "\($0)" }
            #expect(mounts.contains { $0.contains("/nginx/nginx.conf") && $0.contains("/etc/sse-nginx/nginx.conf") })
            #expect(mounts.contains { $0.contains("/nginx/docker") && $0.contains("/etc/sse-nginx/cluster") })
            let waitsFor = Set((nginx["depends_on"] as? [String: Any] ?? [:]).keys)
            #expect(waitsFor == ["gateway1", "gateway2", "gateway3", "publisher"])
            // nginx/docker lists exactly the Compose gateways (on the port they listen on) and the publisher.
            let upstreams = try String(contentsOfFile: Self.root + "/nginx/docker/upstreams.conf", encoding: .utf8)
            for number in 1...3 { #expect(upstreams.contains("server gateway\(number):8080 max_fails")) }
            #expect(upstreams.contains("server publisher:8090;"))
        }

        @Test func systemdUnitsPassSystemdAnalyzeVerify() async throws {
            let analyze = try findExecutable("systemd-analyze")
            let directory = try makeDirectory("units")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            // verify also checks that ExecStart exists: point it at the binaries this test run built.
            let binaries = URL(fileURLWithPath: GatewayProcess.executable).deletingLastPathComponent().path
            var units: [String] = []
            for (source, instance) in [
                ("sse-gateway@.service", "sse-gateway@1.service"), ("sse-publisher.service", nil),
            ] {
                let text = try String(contentsOfFile: Self.root + "/deploy/systemd/" + source, encoding: .utf8)
                    .replacingOccurrences(of: "/usr/local/bin/", with: binaries + "/")
                let path = directory + "/" + (instance ?? source)
                try text.write(toFile: path, atomically: true, encoding: .utf8)
                units.append(path)
            }
            let result = try await runProgram(analyze, ["verify", "--man=no"] + units)
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(result.output)")
        }

        /// The scrape targets are the Compose gateways, and every series the alert rules use is one a node exports.
        @Test func prometheusScrapesTheComposeNodesAndAlertsOnSeriesNodesExport() async throws {
            let script = """
                import json, sys, yaml
                print(json.dumps([yaml.safe_load(open(path)) for path in sys.argv[1:]]))
                """
            let parsed = try await runProgram(
                "/usr/bin/python3",
                [
                    "-c", script, Self.root + "/deploy/prometheus/prometheus.yml",
                    Self.root + "/deploy/prometheus/alerts.yml",
                ])
            #expect(parsed.status == 0, "\(parsed.output)")
            let documents = try #require(
                try JSONSerialization.jsonObject(with: Data(parsed.output.utf8)) as? [[String: Any]])
            let scrape = try #require((documents[0]["scrape_configs"] as? [[String: Any]])?.first)
            let targets = (scrape["static_configs"] as? [[String: Any]])?.flatMap { $0["targets"] as? [String] ?? [] }
            #expect(targets == ["gateway1:8080", "gateway2:8080", "gateway3:8080"])
            #expect(documents[0]["rule_files"] as? [String] == ["alerts.yml"])

            let rules = ((documents[1]["groups"] as? [[String: Any]]) ?? []).flatMap {
                $0["rules"] as? [[String: Any]] ?? []
            }
            let expressions = rules.compactMap { $0["expr"] as? String }
            #expect(expressions.count == rules.count && !rules.isEmpty)
            let used = Set(
                expressions.flatMap { expression in
                    expression.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_") })
                        .filter { $0.hasPrefix("sse_") }.map(String.init)
                })
            #expect(!used.isEmpty)
            try await withLocalRedis { redis in
                let node = try await GatewayProcess.start(redis: redis)
                let exported = try await HTTPProbe.get(port: node.port, path: "/metrics").body
                for series in used.sorted() {
                    #expect(
                        exported.contains("\n\(series){") || exported.hasPrefix("\(series){"), "\(series) is exported")
                }
            }
        }

        /// The Grafana dashboard of the `monitoring` profile: Grafana is provisioned with the dashboard folder and a
        /// Prometheus data source whose uid every panel names, the panels do not overlap, and every query names a
        /// series a real node or the real publisher exports.
        @Test func grafanaDashboardQueriesOnlySeriesTheNodesAndThePublisherExport() async throws {
            let configuration = try await Self.composeConfiguration()
            let services = try #require(configuration["services"] as? [String: [String: Any]])
            let grafana = try #require(services["grafana"])
            let mounts = (grafana["volumes"] as? [Any] ?? []).compactMap { volume -> String? in
                if let text = volume as? String { return text }
                guard let entry = volume as? [String: Any], let target = entry["target"] as? String else { return nil }
                return target
            }
            #expect(
                mounts.contains { $0.hasSuffix("/etc/grafana/provisioning:ro") || $0 == "/etc/grafana/provisioning" })
            #expect(
                mounts.contains {
                    $0.hasSuffix("/var/lib/grafana/dashboards:ro") || $0 == "/var/lib/grafana/dashboards"
                })

            let script = """
                import json, sys, yaml
                print(json.dumps([yaml.safe_load(open(path)) for path in sys.argv[1:3]] + [json.load(open(sys.argv[3]))]))
                """
            let parsed = try await runProgram(
                "/usr/bin/python3",
                [
                    "-c", script, Self.root + "/deploy/grafana/provisioning/datasources/prometheus.yml",
                    Self.root + "/deploy/grafana/provisioning/dashboards/sse.yml",
                    Self.root + "/deploy/grafana/dashboards/sse-gateway.json",
                ])
            #expect(parsed.status == 0, "\(parsed.output)")
            let documents = try #require(
                try JSONSerialization.jsonObject(with: Data(parsed.output.utf8)) as? [[String: Any]])
            let source = try #require((documents[0]["datasources"] as? [[String: Any]])?.first)
            #expect(source["type"] as? String == "prometheus")
            #expect(source["url"] as? String == "http://prometheus:9090")
            let uid = try #require(source["uid"] as? String)
            let provider = try #require((documents[1]["providers"] as? [[String: Any]])?.first)
            #expect((provider["options"] as? [String: Any])?["path"] as? String == "/var/lib/grafana/dashboards")

            let panels = try #require(documents[2]["panels"] as? [[String: Any]])
            var expressions: [String] = []
            var boxes: [(title: String, x: Int, y: Int, w: Int, h: Int)] = []
            for panel in panels {
                let title = panel["title"] as? String ?? "?"
                let grid = try #require(panel["gridPos"] as? [String: Int], "\(title) has a position")
                let box = (title, grid["x"] ?? -1, grid["y"] ?? -1, grid["w"] ?? 0, grid["h"] ?? 0)
                #expect(box.1 >= 0 && box.3 > 0 && box.1 + box.3 <= 24, "\(title) fits the 24 columns")
                for other in boxes {
                    let apart =
                        box.1 + box.3 <= other.x || other.x + other.w <= box.1 || box.2 + box.4 <= other.y
                        || other.y + other.h <= box.2
                    #expect(apart, "\(title) overlaps \(other.title)")
                }
                boxes.append(box)
                if panel["type"] as? String == "row" { continue }
                #expect((panel["datasource"] as? [String: Any])?["uid"] as? String == uid, "\(title)'s data source")
                let targets = try #require(panel["targets"] as? [[String: Any]], "\(title) has queries")
                #expect(!targets.isEmpty)
                for target in targets {
                    #expect((target["datasource"] as? [String: Any])?["uid"] as? String == uid)
                    expressions.append(try #require(target["expr"] as? String))
                }
            }
            let used = Set(
                expressions.flatMap { expression in
                    expression.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_") })
                        .filter { $0.hasPrefix("sse_") }.map(String.init)
                })
            #expect(used.count >= 20, "\(used.sorted())")
            try await withLocalRedis { redis in
                let node = try await GatewayProcess.start(redis: redis)
                let publisher = try await PublisherProcess.start(redis: redis)
                let exported =
                    try await HTTPProbe.get(port: node.port, path: "/metrics").body + "\n"
                    + HTTPProbe.get(port: publisher.port, path: "/metrics").body
                for series in used.sorted() {
                    #expect(
                        exported.contains("\n\(series){") || exported.contains("\n\(series) ")
                            || exported.hasPrefix("\(series){"),
                        "\(series) is exported")
                }
            }
        }
    }
}
