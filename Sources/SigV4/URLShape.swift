/// What a presigned URL and its canonical request are besides the object key, the auth query of the
/// second it was signed in (`SigningStamp.authQuery`) and the signature: cut from a URL the signer
/// made in full, for requests without operation parameters.
///
/// Such a URL is `urlHead key ? authQuery urlTail &X-Amz-Signature=…` and its canonical request
/// `canonicalHead key \n authQuery canonicalTail`: the key (encoded) is the end of the path, the auth
/// parameters open the query in both, and everything else depends only on the signer and on the
/// request's method, bucket, expiry and signed headers, which the shape keeps to be matched. So the
/// next request of the same shape, in any second, is signed by writing these bytes around its key,
/// with no bucket rules, header canonicalisation or query assembly to redo. A thread cuts a shape
/// the second time it meets it (`SignerThreadState`) and keeps it for itself.
final class URLShape: Sendable {
    let method: S3Method
    let bucket: String
    let expires: Int64
    let headers: [(name: String, value: String)]
    /// urlHead, urlTail, canonicalHead and canonicalTail, one after the other.
    private let bytes: [UInt8]
    private let urlHeadEnd: Int
    private let urlTailEnd: Int
    private let canonicalHeadEnd: Int

    /// Shapes larger than this are not kept: the bytes of a few hundred headers' worth have no
    /// business staying in memory for the next request.
    static let maxBytes = 4096

    /// Cuts the shape of `request` out of the URL (up to its signature parameter) and canonical
    /// request the signer made for it; nil when they are not laid out as the shape expects (they
    /// always are for a request without operation parameters) or are too large to keep.
    init?(
        _ request: borrowing PresignRequest, url: UnsafeBufferPointer<UInt8>, key: Range<Int>,
        canonical: UnsafeBufferPointer<UInt8>, canonicalKeyStart: Int, authQuery: [UInt8]
    ) {
        let canonicalKeyEnd = canonicalKeyStart + key.count
        let urlAuth = key.upperBound + 1..<key.upperBound + 1 + authQuery.count
        let canonicalAuth = canonicalKeyEnd + 1..<canonicalKeyEnd + 1 + authQuery.count
        let size = url.count + canonical.count - 2 * (key.count + 1 + authQuery.count)
        guard request.query.isEmpty, urlAuth.upperBound <= url.count, canonicalAuth.upperBound <= canonical.count,
            size <= Self.maxBytes, url[key.upperBound] == UInt8(ascii: "?"),
            canonical[canonicalKeyEnd] == UInt8(ascii: "\n"),
            url.same(key, as: canonical, canonicalKeyStart..<canonicalKeyEnd),
            authQuery.withUnsafeBufferPointer({ url.same(urlAuth, as: $0, 0..<$0.count) && canonical.same(canonicalAuth, as: $0, 0..<$0.count) })
        else { return nil }
        method = request.method
        bucket = request.bucket
        expires = request.expires
        headers = request.headers
        urlHeadEnd = key.lowerBound
        urlTailEnd = urlHeadEnd + (url.count - urlAuth.upperBound)
        canonicalHeadEnd = urlTailEnd + canonicalKeyStart
        bytes = [UInt8](unsafeUninitializedCapacity: size) { bytes, count in
            var writer = ByteWriter(bytes)
            writer.append(UnsafeBufferPointer(rebasing: url[..<key.lowerBound]))
            writer.append(UnsafeBufferPointer(rebasing: url[urlAuth.upperBound...]))
            writer.append(UnsafeBufferPointer(rebasing: canonical[..<canonicalKeyStart]))
            writer.append(UnsafeBufferPointer(rebasing: canonical[canonicalAuth.upperBound...]))
            count = writer.count
        }
    }

    /// Whether `request` has this shape: the same method, expiry, and bucket and headers of the
    /// same bytes (not merely equal Strings: Swift's equality is Unicode's canonical equivalence, under
    /// which a Kelvin sign equals a K).
    func matches(_ request: borrowing PresignRequest) -> Bool {
        guard request.method == method, request.expires == expires, request.query.isEmpty,
            request.headers.count == headers.count, request.bucket.hasSameBytes(as: bucket)
        else { return false }
        for (given, kept) in zip(request.headers, headers) {
            guard given.name.hasSameBytes(as: kept.name), given.value.hasSameBytes(as: kept.value) else { return false }
        }
        return true
    }

    /// A hash of a request's shape from what the full path has at hand (the bucket, the expiry, the
    /// method line and the path up to the key, the canonical header lines), so that a thread can
    /// tell a shape it missed before (`SignerThreadState.missedBefore`) without keeping the request
    /// or reading its strings again. Requests of one shape have one fingerprint; a collision, or
    /// headers that differ only in case or spacing, only make a shape be cut early.
    static func fingerprint(
        expires: Int64, bucket: UnsafeBufferPointer<UInt8>, canonicalHead: UnsafeBufferPointer<UInt8>,
        headerLines: UnsafeBufferPointer<UInt8>?
    ) -> UInt64 {
        let hash = mixed(mixed(UInt64(truncatingIfNeeded: expires), bucket), canonicalHead)
        guard let headerLines else { return hash }
        return mixed(hash, headerLines)
    }

    /// `hash` with `bytes` mixed in: their count first (so that moving bytes from a name to its
    /// value changes it), then eight bytes at a time, then the rest.
    private static func mixed(_ hash: UInt64, _ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        @inline(__always)
        func step(_ hash: UInt64, _ word: UInt64) -> UInt64 {
            let product = (hash ^ word) &* 0x9E37_79B9_7F4A_7C15
            return product ^ product &>> 29
        }
        var hash = step(hash, UInt64(bytes.count))
        var index = 0
        while index &+ 8 <= bytes.count {
            hash = step(hash, UnsafeRawPointer(bytes.baseAddress! + index).loadUnaligned(as: UInt64.self))
            index &+= 8
        }
        var tail: UInt64 = 0
        while index < bytes.count {
            tail = tail &<< 8 | UInt64(bytes[index])
            index &+= 1
        }
        return step(hash, tail)
    }

    /// The four parts, valid in `body`.
    func withParts<R>(_ body: (_ parts: Parts) -> R) -> R {
        bytes.withUnsafeBufferPointer { all in
            body(
                Parts(
                    urlHead: UnsafeBufferPointer(rebasing: all[..<urlHeadEnd]),
                    urlTail: UnsafeBufferPointer(rebasing: all[urlHeadEnd..<urlTailEnd]),
                    canonicalHead: UnsafeBufferPointer(rebasing: all[urlTailEnd..<canonicalHeadEnd]),
                    canonicalTail: UnsafeBufferPointer(rebasing: all[canonicalHeadEnd...])))
        }
    }

    struct Parts {
        /// `scheme://authority/…/` up to the key.
        let urlHead: UnsafeBufferPointer<UInt8>
        /// After the auth query: the expiry's digits, `&X-Amz-SignedHeaders=…`, the security token.
        let urlTail: UnsafeBufferPointer<UInt8>
        /// The method line and the path up to the key.
        let canonicalHead: UnsafeBufferPointer<UInt8>
        /// After the auth query: the rest of the query, the headers, the signed names, the payload.
        let canonicalTail: UnsafeBufferPointer<UInt8>
    }
}
