import Foundation

@testable import SigV4

/// One case of Resources/vectors.json (botocore 1.43.11 output, see SPEC.md).
struct Vector: Decodable, Sendable, CustomStringConvertible {
    struct Input: Decodable, Sendable {
        let method: String
        let bucket: String
        let keyUtf8Hex: String
        let region: String
        let endpointUrl: String?
        let addressingStyle: String
        let usEast1RegionalEndpoint: String?
        let expires: Int64
        let accessKey: String
        let secretKey: String
        let sessionToken: String?
        let contentType: String?
        let extraSignedHeaders: [[String]]
        let queryParams: [[String]]
        let timestamp: String
    }

    struct Expected: Decodable, Sendable {
        let url: String
        let resolvedEndpoint: String
        let effectiveAddressingStyle: String
        let hostHeader: String
        let canonicalUri: String
        let canonicalQueryString: String
        let canonicalHeaders: String
        let signedHeaders: String
        let canonicalRequest: String
        let stringToSign: String
        let signingKeyHex: String
        let signature: String
        let headersClientMustSend: [String: String]
        let expiresAt: String
    }

    let id: String
    let tags: [String]
    let input: Input
    let expected: Expected

    var description: String { id }

    /// The file's keys are snake_case; the Swift names are their camelCase forms.
    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }

    static let all: [Vector] = {
        let url = Bundle.module.url(forResource: "vectors", withExtension: "json")!
        return try! Vector.decoder.decode([Vector].self, from: Data(contentsOf: url))
    }()

    static func named(_ id: String) -> Vector { all.first { $0.id == id }! }

    var isQuirk: Bool { tags.contains("botocore-quirk") }

    /// The key from its exact UTF-8 bytes (JSON decoding must not be trusted with NFC/NFD).
    var key: String {
        let hex = Array(input.keyUtf8Hex.utf8)
        let bytes = stride(from: 0, to: hex.count, by: 2).map {
            UInt8(String(decoding: hex[$0..<$0 + 2], as: UTF8.self), radix: 16)!
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    var time: Int64 { AmzDate(input.timestamp)!.unixSeconds }

    /// "2013-05-25T00:00:00Z" → unix seconds.
    var expiresAt: Int64 { AmzDate(expected.expiresAt.filter { $0 != "-" && $0 != ":" })!.unixSeconds }

    var credentials: Credentials {
        Credentials(accessKeyId: input.accessKey, secretAccessKey: input.secretKey, sessionToken: input.sessionToken)
    }

    /// The endpoint as presignd would configure it: the AWS regional endpoint, or the custom
    /// endpoint URL, with the vector's requested addressing style.
    func endpoint() throws -> S3Endpoint {
        let addressing = S3Endpoint.Addressing(rawValue: input.addressingStyle)!
        if let custom = input.endpointUrl {
            return try S3Endpoint(url: custom, region: input.region, addressing: addressing)
        }
        return try S3Endpoint.aws(
            region: input.region, addressing: addressing,
            usEast1Regional: input.usEast1RegionalEndpoint == "regional")
    }

    var request: PresignRequest {
        var headers: [(name: String, value: String)] = []
        if let contentType = input.contentType { headers.append(("Content-Type", contentType)) }
        headers += input.extraSignedHeaders.map { ($0[0], $0[1]) }
        return PresignRequest(
            method: S3Method(rawValue: input.method)!, bucket: input.bucket, key: key, expires: input.expires,
            headers: headers, query: input.queryParams.map { ($0[0], $0[1]) })
    }

    /// Value lookup for the headers the client must send, as a gateway would see them.
    func sentHeader(_ name: String) -> String? { expected.headersClientMustSend[name] }
}
