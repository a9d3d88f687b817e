/// What to presign: one S3 object operation.
package struct PresignRequest: Sendable {
    package var method: S3Method
    /// Checked against S3's naming rules for new buckets.
    package var bucket: String
    /// The object key, used as its UTF-8 bytes without normalisation; 1..1024 bytes.
    package var key: String
    /// Lifetime in seconds from the signing time, 1..`maxExpires` (X-Amz-Expires).
    package var expires: Int64
    /// The longest lifetime SigV4 allows a presigned URL: seven days.
    package static let maxExpires: Int64 = 604_800
    /// Headers to sign (Content-Type, Content-Length, x-amz-meta-*, …). Their values do not appear
    /// in the URL: the HTTP client must send them (`headersToSend`).
    package var headers: [(name: String, value: String)]
    /// Operation query parameters (response-content-disposition, versionId, x-id, partNumber…),
    /// signed and written into the URL in this order, before the auth parameters.
    package var query: [(name: String, value: String)]

    package init(
        method: S3Method, bucket: String, key: String, expires: Int64 = 3600,
        headers: [(name: String, value: String)] = [], query: [(name: String, value: String)] = []
    ) {
        self.method = method
        self.bucket = bucket
        self.key = key
        self.expires = expires
        self.headers = headers
        self.query = query
    }
}

extension PresignRequest {
    /// The signed headers the HTTP client must send with this request's URL, with these exact values
    /// (lowercase names), in the request's order.
    package var headersToSend: [HeaderToSend] {
        headers.map { HeaderToSend(name: CanonicalHeaders.lowercasedName($0.name), value: $0.value) }
    }
}
