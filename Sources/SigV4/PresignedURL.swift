/// A presigned URL and what the broker needs to track it.
///
/// It holds the URL and a few numbers, nothing else that is reference-counted: making and dropping
/// one is part of every presign's cost. What few callers need (the signed host, the headers to send)
/// is derived on use, from the URL or from the request.
package struct PresignedURL: Sendable {
    /// The whole URL. It is a bearer credential: never log it.
    package let url: String
    /// The signature's 32 bytes; `signature` is their hex form as it appears in the URL.
    package let signatureDigest: Digest
    /// X-Amz-Date: when the URL was signed, and where its lifetime starts.
    package let amzDate: AmzDate
    /// Unix seconds at which the URL stops working: X-Amz-Date + X-Amz-Expires.
    package let expiresAt: Int64

    /// The `host` value the URL is signed for (what a verifier must be told): the URL's authority,
    /// `bucket.` included for a virtual-hosted URL, by the endpoint's rule for the host header
    /// (`S3Endpoint.hostHeader`): in lower case, without the scheme's default port.
    package var signedHost: String {
        guard let schemeEnd = url.firstRange(of: "://") else { return "" }
        let authority = url[schemeEnd.upperBound...].prefix { $0 != "/" && $0 != "?" }
        let defaultPort = url.hasPrefix("https:") ? ":443" : ":80"
        let host = authority.hasSuffix(defaultPort) ? authority.dropLast(defaultPort.utf8.count) : authority
        return CanonicalHeaders.lowercased(String(host))
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
