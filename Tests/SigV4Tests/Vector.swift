import Foundation

@testable import SigV4

/// One case of Resources/vectors.json (botocore 1.43.11 output, see SPEC.md).
struct Vector: Decodable, Sendable, CustomStringConvertible {
    struct Input: Decodable, Sendable {
        let method: String
        let bucket: String
        let key_utf8_hex: String
        let region: String
        let endpoint_url: String?
        let addressing_style: String
        let us_east_1_regional_endpoint: String?
        let expires: Int64
        let access_key: String
        let secret_key: String
        let session_token: String?
        let content_type: String?
        let extra_signed_headers: [[String]]
        let query_params: [[String]]
        let timestamp: String
    }

    struct Expected: Decodable, Sendable {
        let url: String
        let resolved_endpoint: String
        let effective_addressing_style: String
        let host_header: String
        let canonical_uri: String
        let canonical_query_string: String
        let canonical_headers: String
        let signed_headers: String
        let canonical_request: String
        let string_to_sign: String
        let signing_key_hex: String
        let signature: String
        let headers_client_must_send: [String: String]
        let expires_at: String
    }

    let id: String
    let tags: [String]
    let input: Input
    let expected: Expected

    var description: String { id }

    static let all: [Vector] = {
        let url = Bundle.module.url(forResource: "vectors", withExtension: "json")!
        return try! JSONDecoder().decode([Vector].self, from: Data(contentsOf: url))
    }()

    static func named(_ id: String) -> Vector { all.first { $0.id == id }! }

    var isQuirk: Bool { tags.contains("botocore-quirk") }

    /// The key from its exact UTF-8 bytes (JSON decoding must not be trusted with NFC/NFD).
    var key: String {
        let hex = Array(input.key_utf8_hex.utf8)
        let bytes = stride(from: 0, to: hex.count, by: 2).map { UInt8(String(decoding: hex[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
        return String(decoding: bytes, as: UTF8.self)
    }

    var time: Int64 { AmzDate(input.timestamp)!.unixSeconds }

    /// "2013-05-25T00:00:00Z" → unix seconds.
    var expiresAt: Int64 { AmzDate(expected.expires_at.filter { $0 != "-" && $0 != ":" })!.unixSeconds }

    var credentials: Credentials {
        Credentials(accessKeyId: input.access_key, secretAccessKey: input.secret_key, sessionToken: input.session_token)
    }

    /// The endpoint as presignd would configure it: the AWS regional endpoint, or the custom
    /// endpoint URL, with the vector's requested addressing style.
    func endpoint() throws -> S3Endpoint {
        let addressing = S3Endpoint.Addressing(rawValue: input.addressing_style)!
        if let custom = input.endpoint_url {
            return try S3Endpoint(url: custom, region: input.region, addressing: addressing)
        }
        return try S3Endpoint.aws(
            region: input.region, addressing: addressing,
            usEast1Regional: input.us_east_1_regional_endpoint == "regional")
    }

    var request: PresignRequest {
        var headers: [(name: String, value: String)] = []
        if let contentType = input.content_type { headers.append(("Content-Type", contentType)) }
        headers += input.extra_signed_headers.map { ($0[0], $0[1]) }
        return PresignRequest(
            method: S3Method(rawValue: input.method)!, bucket: input.bucket, key: key, expires: input.expires,
            headers: headers, query: input.query_params.map { ($0[0], $0[1]) })
    }

    /// Value lookup for the headers the client must send, as a gateway would see them.
    func sentHeader(_ name: String) -> String? { expected.headers_client_must_send[name] }
}
