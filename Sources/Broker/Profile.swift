import SigV4
import Tokens

/// One S3 account, region and endpoint that URLs are signed for, and the gateway origin that
/// issued URLs point to.
package struct Profile: Sendable {
    package var name: String
    package var signer: PresignSigner
    /// `scheme://host[:port]` of the gateway in front of S3; nil when URLs point straight at S3,
    /// in which case presignd tracks them but cannot stop a second use.
    package var publicBaseURL: String?

    package init(name: String, signer: PresignSigner, publicBaseURL: String?) {
        self.name = name
        self.signer = signer
        self.publicBaseURL = publicBaseURL
    }

    /// The host value the profile's URLs are signed for (path-style), used when verifying.
    package var signedHost: String { signer.endpoint.hostHeader }

    /// The host a URL with `authority` (`host[:port]` of an absolute URL; nil in origin form) was
    /// signed for, and its bucket when that is in the host: an authority `<bucket>.<endpoint
    /// host>`, for a bucket this profile's endpoint puts in the host (virtual-hosted style), was
    /// signed for that host; any other URL, origin-form ones as gateways present them included, for
    /// the endpoint's host (path style). The signature covers the host, so a URL verifies only for
    /// the host it was really signed for.
    package func signedHost(authority: String?) -> (host: String, virtualBucket: String?) {
        guard let authority = authority?.lowercased() else { return (signedHost, nil) }
        let endpoint = signer.endpoint
        for suffix in [endpoint.hostHeader, endpoint.urlAuthority.lowercased()] {
            guard authority.hasSuffix("." + suffix) else { continue }
            let bucket = String(authority.dropLast(suffix.count + 1))
            guard (try? BucketName.validate(bucket)) != nil, endpoint.usesVirtualHosting(bucket: bucket) else {
                continue
            }
            return (bucket + "." + endpoint.hostHeader, bucket)
        }
        return (signedHost, nil)
    }

    /// The object a verified URL of this profile names, from its decoded path: the endpoint's
    /// base path, then `/<bucket>/<key>` (path style), or `/<key>` when the bucket was in the host
    /// (`virtualBucket`). Nil when the path is not shaped so, or when the base path holds escapes
    /// (the decoded path no longer shows it).
    package func object(atPath path: String, virtualBucket: String? = nil) -> TokenObject? {
        let base = signer.endpoint.basePath
        let bytes = path.utf8
        guard !base.utf8.contains(UInt8(ascii: "%")), bytes.starts(with: base.utf8),
            let afterBase = bytes.index(bytes.startIndex, offsetBy: base.utf8.count, limitedBy: bytes.endIndex),
            afterBase < bytes.endIndex, bytes[afterBase] == UInt8(ascii: "/")
        else { return nil }
        let bucketStart = bytes.index(after: afterBase)
        if let virtualBucket {
            guard bucketStart < bytes.endIndex else { return nil }
            return TokenObject(bucket: virtualBucket, key: String(path[bucketStart...]))
        }
        guard let slash = bytes[bucketStart...].firstIndex(of: UInt8(ascii: "/")), slash > bucketStart else {
            return nil
        }
        let keyStart = bytes.index(after: slash)
        guard keyStart < bytes.endIndex else { return nil }
        return TokenObject(bucket: String(path[bucketStart..<slash]), key: String(path[keyStart...]))
    }

    /// The URL handed to the client: the signed URL with its origin replaced by the gateway's,
    /// path and query unchanged (the gateway forwards them byte for byte).
    func publicURL(for signed: PresignedURL) -> String {
        guard let publicBaseURL else { return signed.url }
        // scheme "://" authority, then the path: skip past the authority's first "/".
        let url = signed.url.utf8
        guard let colon = url.firstIndex(of: UInt8(ascii: ":")) else { return signed.url }
        let authority = url.index(colon, offsetBy: 3)
        let pathStart = url[authority...].firstIndex(of: UInt8(ascii: "/")) ?? url.endIndex
        return publicBaseURL + String(signed.url[pathStart...])
    }
}
