import Foundation
import Gateway
import LocalRedis
import SSETestSupport
import Testing

extension EndToEnd {
    /// The nginx files (`nginx/`) as the local cluster and Docker use them: nginx accepts both variants, the Compose
    /// variant is exactly what the generator writes for Compose's services, and a live nginx routes as documented.
    @Suite("nginx configuration for the cluster")
    struct NginxConfigurationTests {
        static let root = NginxProcess.repositoryRoot
        /// The arguments `nginx/docker/` was generated with (docker-compose.yml's service names and ports).
        static let composeArguments = [
            "0.0.0.0:8000", "publisher:8090", "gateway1:8080", "gateway2:8080", "gateway3:8080",
        ]

        @Test func nginxAcceptsTheLocalClusterConfiguration() async throws {
            let prefix = try makeDirectory("nginx-check")
            defer { try? FileManager.default.removeItem(atPath: prefix) }
            try await NginxProcess.writeConfiguration(
                prefix: prefix, listen: "127.0.0.1:8000", publisher: "127.0.0.1:8090",
                gateways: ["127.0.0.1:8101", "127.0.0.1:8102", "127.0.0.1:8103"])
            let result = try await NginxProcess.test(prefix: prefix)
            #expect(result.status == 0, "nginx -t: \(result.output)")
            #expect(result.output.contains("test is successful"))

            let upstreams = try String(contentsOfFile: prefix + "/conf/cluster/upstreams.conf", encoding: .utf8)
            let pool = try #require(upstreams.split(separator: "}").first { $0.contains("upstream sse_gateways") })
            #expect(pool.contains("least_conn;"))
            #expect(pool.contains("zone sse_gateways 64k;"))
            #expect(
                pool.split(separator: "\n").filter { $0.contains("server 127.0.0.1:81") }.map {
                    $0.trimmingCharacters(in: .whitespaces)
                } == (1...3).map { "server 127.0.0.1:810\($0) max_fails=2 fail_timeout=5s;" })
            let server = try String(contentsOfFile: prefix + "/conf/cluster/server.conf", encoding: .utf8)
            #expect(server.contains("listen 127.0.0.1:8000;"))
            #expect(server.components(separatedBy: "location ~ ^/nodes/").count - 1 == 3)
        }

        @Test func composeVariantIsTheGeneratorsOutputForTheComposeServices() async throws {
            let directory = try makeDirectory("nginx-compose")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let result = try await runProgram(
                "/bin/bash", [Self.root + "/deploy/nginx-cluster-conf", directory] + Self.composeArguments)
            #expect(result.status == 0, "\(result.output)")
            for name in ["upstreams.conf", "server.conf"] {
                let generated = try String(contentsOfFile: directory + "/" + name, encoding: .utf8)
                let committed = try String(contentsOfFile: Self.root + "/nginx/docker/" + name, encoding: .utf8)
                let command = "deploy/nginx-cluster-conf nginx/docker " + Self.composeArguments.joined(separator: " ")
                #expect(generated == committed, "nginx/docker/\(name) is stale: run \(command)")
            }
            // Compose serves plain HTTP only: a TLS listen needs a certificate, and none is mounted there.
            let server = try String(contentsOfFile: Self.root + "/nginx/docker/server.conf", encoding: .utf8)
            #expect(!server.contains("ssl"))
        }

        /// `--tls` adds an HTTPS listen with HTTP/2 to the same server (so the same locations), and nginx starts
        /// with it given a real certificate and key.
        @Test func generatorWithTLSAddsAnHTTP2ListenNginxAccepts() async throws {
            let prefix = try makeDirectory("nginx-tls-check")
            defer { try? FileManager.default.removeItem(atPath: prefix) }
            let certificate = prefix + "/cert.pem"
            let key = prefix + "/key.pem"
            let made = try await runProgram(
                try findExecutable("openssl"),
                [
                    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-keyout", key, "-out", certificate,
                ])
            try #require(made.status == 0, "openssl: \(made.output)")
            try await NginxProcess.writeConfiguration(
                prefix: prefix, listen: "127.0.0.1:8000", publisher: "127.0.0.1:8090", gateways: ["127.0.0.1:8101"])
            let generated = try await runProgram(
                "/bin/bash",
                [
                    Self.root + "/deploy/nginx-cluster-conf", "--tls", "127.0.0.1:8443", certificate, key,
                    prefix + "/conf/cluster", "127.0.0.1:8000", "127.0.0.1:8090", "127.0.0.1:8101",
                ])
            #expect(generated.status == 0, "\(generated.output)")
            let server = try String(contentsOfFile: prefix + "/conf/cluster/server.conf", encoding: .utf8)
            let directives = server.split(separator: "\n").filter { $0.hasPrefix("listen") || $0.hasPrefix("ssl_") }
            #expect(
                directives == [
                    "listen 127.0.0.1:8000;", "listen 127.0.0.1:8443 ssl http2;", "ssl_certificate \(certificate);",
                    "ssl_certificate_key \(key);",
                ])
            let result = try await NginxProcess.test(prefix: prefix)
            #expect(result.status == 0, "nginx -t: \(result.output)")
        }

        @Test func generatorRejectsARelativeCertificatePath() async throws {
            let directory = try makeDirectory("nginx-bad-tls")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let result = try await runProgram(
                "/bin/bash",
                [
                    Self.root + "/deploy/nginx-cluster-conf", "--tls", "127.0.0.1:8443", "cert.pem", "/tls/key.pem",
                    directory, "127.0.0.1:8000", "127.0.0.1:8090", "127.0.0.1:8101",
                ])
            #expect(result.status == 64)
            #expect(result.output.contains("TLS file \"cert.pem\" is invalid: expected an absolute path"))
            #expect(!FileManager.default.fileExists(atPath: directory + "/server.conf"))
        }

        /// Compose's service names resolve only inside Compose's network; here they are swapped for 127.0.0.1 so
        /// nginx can check everything else about the Compose variant.
        @Test func nginxAcceptsTheComposeConfiguration() async throws {
            let prefix = try makeDirectory("nginx-compose-check")
            defer { try? FileManager.default.removeItem(atPath: prefix) }
            try await NginxProcess.writeConfiguration(
                prefix: prefix, listen: "127.0.0.1:1", publisher: "127.0.0.1:1", gateways: ["127.0.0.1:1"])
            for name in ["upstreams.conf", "server.conf"] {
                var text = try String(contentsOfFile: Self.root + "/nginx/docker/" + name, encoding: .utf8)
                for host in ["gateway1", "gateway2", "gateway3", "publisher"] {
                    text = text.replacingOccurrences(of: " \(host):", with: " 127.0.0.1:")
                }
                try text.write(toFile: prefix + "/conf/cluster/" + name, atomically: true, encoding: .utf8)
            }
            let result = try await NginxProcess.test(prefix: prefix)
            #expect(result.status == 0, "nginx -t: \(result.output)")
        }

        @Test func generatorRejectsAnAddressWithoutPort() async throws {
            let directory = try makeDirectory("nginx-bad")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let result = try await runProgram(
                "/bin/bash",
                [Self.root + "/deploy/nginx-cluster-conf", directory, "127.0.0.1:8000", "127.0.0.1:8090", "gateway1"])
            #expect(result.status == 64)
            #expect(result.output.contains("address \"gateway1\" is invalid: expected host:port"))
            #expect(!FileManager.default.fileExists(atPath: directory + "/upstreams.conf"))
        }

        /// `/nodes/<n>/…` reaches node n and no other; an unknown node is a 404, not another node's figures; `/sse`
        /// comes back close-delimited (no chunk framing in the event stream) with the gateway's headers.
        @Test func liveNginxRoutesNodeEndpointsByNumberAndStreamsChunked() async throws {
            let cluster = try await TestCluster.start(nodeCount: 2)
            defer { cluster.stop() }
            for (index, node) in cluster.nodeIDs.enumerated() {
                #expect(try await cluster.metrics(ofNode: index + 1).nodeID == node)
                let prometheus = try await HTTPProbe.get(port: cluster.port, path: "/nodes/\(index + 1)/metrics")
                #expect(prometheus.status == 200)
                #expect(prometheus.body.contains("sse_active_connections{node=\"\(node)\"}"))
                #expect(
                    try await HTTPProbe.get(port: cluster.port, path: "/nodes/\(index + 1)/readyz").body == "ready\n")
            }
            // A node's connections by number, with the query passed on; the registry from any node.
            let connections = try await HTTPProbe.get(port: cluster.port, path: "/nodes/2/sse-health?top=1&order=age")
            #expect(connections.status == 200 && connections.body.contains("\"node_id\":\"\(cluster.nodeIDs[1])\""))
            #expect(connections.body.contains("\"top\":1") && connections.body.contains("\"order\":\"age\""))
            try await waitUntil("both nodes in /sse-nodes through nginx") {
                let nodes = try await HTTPProbe.get(port: cluster.port, path: "/sse-nodes")
                return nodes.status == 200
                    && cluster.nodeIDs.allSatisfy { nodes.body.contains("\"node_id\":\"\($0)\"") }
            }
            let presence = try await HTTPProbe.get(port: cluster.port, path: "/sse-presence?topic=framing")
            #expect(presence.status == 200 && presence.body.contains("\"topic\":\"framing\""))
            let unknown = try await HTTPProbe.get(port: cluster.port, path: "/nodes/3/sse-metrics")
            #expect(unknown.status == 404)
            #expect(try await HTTPProbe.get(port: cluster.port, path: "/nodes/1/sse").status == 404)
            let health = try await HTTPProbe.get(port: cluster.port, path: "/lb-healthz")
            #expect(health.status == 200 && health.body == "ok\n")
            // Nothing listens where this cluster's publisher would be.
            #expect(try await HTTPProbe.get(port: cluster.port, path: "/").status == 502)

            let stream = try await SSETestClient.open(port: cluster.port, path: "/sse?topic=framing")
            defer { stream.close() }
            try await stream.waitUntilConnected()
            #expect(stream.status == 200)
            #expect(stream.header("Content-Type") == "text/event-stream; charset=utf-8")
            #expect(stream.header("Transfer-Encoding") == "chunked")
            #expect(stream.header("X-Accel-Buffering") == nil, "nginx consumes it")
            let publisher = try await TestPublisher.connect(cluster.redis)
            defer { publisher.close() }
            let id = try await publisher.publish("framing", "line one\nline two")
            try await stream.waitForEvents(1)
            #expect(stream.events == [.init(id: id, event: nil, data: "line one\nline two")])
            let text = String(decoding: stream.body, as: UTF8.self)
            #expect(
                text.hasSuffix("id: \(id)\ndata: line one\ndata: line two\n\n"), "exact bytes: \(text.debugDescription)"
            )

            // A URL with a token in its query is logged without the query; others keep theirs (both answered 400:
            // nginx writes a line when a request ends).
            let secretish = "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl"
            #expect(try await HTTPProbe.get(port: cluster.port, path: "/sse?access_token=\(secretish)").status == 400)
            #expect(try await HTTPProbe.get(port: cluster.port, path: "/sse?topic=a%20b").status == 400)
            try await waitUntil("the access log has both lines") {
                cluster.nginx.accessLog.contains("/sse?topic=a%20b")
                    && cluster.nginx.accessLog.contains("/sse?(query not logged")
            }
            let log = cluster.nginx.accessLog
            #expect(!log.contains(secretish))
            #expect(log.contains("\"GET /sse?(query not logged: it holds a token) HTTP/1.1\" 400"))
            #expect(log.contains("\"GET /sse?topic=a%20b HTTP/1.1\" 400"))
        }
    }
}
