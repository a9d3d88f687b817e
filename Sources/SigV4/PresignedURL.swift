/// A presigned URL and what the broker needs to track it.
package struct PresignedURL: Sendable {
    /// The whole URL. It is a bearer credential: never log it.
    package let url: String
    /// The signature's 32 bytes; `signature` is their hex form as it appears in the URL.
    package let signatureDigest: Digest
    /// X-Amz-Date: when the URL was signed, and where its lifetime starts.
    package let amzDate: AmzDate
    /// Unix seconds at which the URL stops working: X-Amz-Date + X-Amz-Expires.
    package let expiresAt: Int64
    /// The `host` value the URL is signed for (what a verifier must be told): the endpoint's host,
    /// after `bucket.` for a virtual-hosted URL. Made on use, as few callers need it.
    package var signedHost: String {
        guard let virtualBucket else { return endpointHost }
        return "\(virtualBucket).\(endpointHost)"
    }
    let endpointHost: String
    /// The bucket when it is part of the host name.
    let virtualBucket: String?
    /// The request's signed headers, as the caller gave them.
    let signedHeaders: [(name: String, value: String)]
    /// Signed headers the HTTP client must send with these exact values (lowercase names), in the
    /// request's order. Made on use, as few callers need them.
    package var headersToSend: [HeaderToSend] {
        signedHeaders.map { HeaderToSend(name: CanonicalHeaders.lowercasedName($0.name), value: $0.value) }
    }

    /// The signature in lowercase hex (X-Amz-Signature). Secret-equivalent while the URL lives.
    package var signature: String { signatureDigest.hex }

    /// The token id of PROTOCOL.md, derived from the signature on each use (one SHA-256): presigning
    /// alone, as `presignd presign` does, never needs it, so the signer does not make it.
    package var tokenId: String { SigV4.tokenId(signature: signatureDigest) }
}

/// A signed header the HTTP client must send with a presigned URL: its lowercase name and the
/// value it was signed with. (A struct rather than a tuple: arrays of tuples look their type up at
/// run time on every allocation.)
package struct HeaderToSend: Sendable, Equatable {
    package let name: String
    package let value: String
}
