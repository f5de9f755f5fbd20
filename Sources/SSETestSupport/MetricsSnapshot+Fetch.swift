import Foundation
import Gateway

extension MetricsSnapshot {
    /// `GET path` (a node's `/sse-metrics`, directly or through nginx) decoded; a status other than 200 or a document
    /// that does not decode is an error naming what came back.
    public static func fetch(port: Int, path: String) async throws -> MetricsSnapshot {
        let response = try await HTTPProbe.get(port: port, path: path)
        guard response.status == 200 else {
            throw ServerProcessError(message: "\(path) on port \(port) answered \(response.status): \(response.body)")
        }
        do {
            return try JSONDecoder().decode(MetricsSnapshot.self, from: Data(response.body.utf8))
        } catch {
            throw ServerProcessError(message: "\(path) on port \(port) is not the metrics document: \(error)")
        }
    }
}
