/// The answer of `PresignVerifier.verify`. Only `.valid` allows the request.
package enum Verdict: Sendable, Equatable {
    /// The signature matches and the URL is within its lifetime.
    case valid(VerifiedURL)
    /// The signature matches, but the URL is past X-Amz-Date + X-Amz-Expires.
    case expired(VerifiedURL)
    /// The URL is well formed but does not authenticate: the signature differs, a signed header
    /// was not provided, or X-Amz-Date is more than 15 minutes in the future (S3's "not yet valid").
    case badSignature(String)
    /// The URL is not a presigned URL this verifier can check: missing or duplicate auth
    /// parameters, bad date or expiry, wrong algorithm or scope, unknown access key, wrong region,
    /// invalid percent escapes.
    case malformed(String)
}

/// What a verified URL says about itself.
package struct VerifiedURL: Sendable, Equatable {
    /// The token id of PROTOCOL.md (from X-Amz-Signature).
    package let tokenId: String
    package let accessKeyId: String
    package let region: String
    package let amzDate: AmzDate
    /// X-Amz-Date + X-Amz-Expires, unix seconds.
    package let expiresAt: Int64
    /// The signed header names, lowercase and sorted (always includes `host`).
    package let signedHeaders: [String]
    /// The URL path, percent-decoded (base path, bucket for path style, and key).
    package let path: String
}
