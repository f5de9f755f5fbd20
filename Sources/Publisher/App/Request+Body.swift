import HTTPTypes
import Hummingbird
import NIOCore
import ServerSupport

extension Request {
    /// The body's bytes, refusing more than `limit` with 413: at once when `Content-Length` says so (nothing is
    /// read), otherwise as soon as the bytes read pass the limit. A body that breaks off or has broken chunk framing
    /// is 400.
    func bodyBytes(limit: Int) async throws -> [UInt8] {
        if let declared = headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            throw PublisherError.bodyTooLarge(limit: limit)
        }
        do {
            let buffer = try await body.collect(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw PublisherError.bodyTooLarge(limit: limit)
        } catch {
            // The connection ended mid-body or the framing was broken (a bad chunk size): the client's fault.
            throw PublisherError(
                .badRequest, "request body is malformed or incomplete: \(PublisherError.oneLine("\(error)"))")
        }
    }

    /// Throws 415 unless the body's media type (before any `;` parameter, any case) is `expected`; a request
    /// without `Content-Type` is accepted (curl and scripts often leave it out).
    func requireContentType(_ expected: String) throws {
        guard let value = headers[.contentType] else { return }
        let mediaType = value.split(separator: ";", maxSplits: 1).first.map {
            $0.filter { $0 != " " && $0 != "\t" }.lowercased()
        }
        guard mediaType == expected else {
            throw PublisherError.unsupportedContentType(value, expected: expected)
        }
    }

    /// The value of a header by name (for names `HTTPField.Name` has no constant for).
    func header(_ name: String) -> String? {
        HTTPField.Name(name).flatMap { headers[$0] }
    }
}
