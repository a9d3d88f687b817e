import Synchronization

/// Presigns S3 URLs (SigV4 query-string auth) for one set of credentials and one endpoint,
/// byte for byte as botocore does (SPEC.md).
///
/// Everything that depends only on the credentials and the endpoint is encoded once, here, and
/// everything that depends only on the second of signing once per second (`SigningStamp`); a
/// presign then writes the URL straight into the String's storage and the canonical request into a
/// stack buffer. The signing key is cached per (secret, day, region). A request without operation
/// parameters whose method, bucket, expiry and headers match a recent one's is written from that
/// one's `URLShape`: only its key and signature are new. Stamps and shapes are kept per thread
/// (`SignerThreadState`), so that such a presign takes no lock and counts no references.
package final class PresignSigner: Sendable {
    /// The credentials every URL of this signer is signed with.
    package let credentials: Credentials
    /// Where URLs point, and the region of their credential scope.
    package let endpoint: S3Endpoint

    private let keys = SigningKeyCache(capacity: 4)
    /// Names this signer's state in each thread's `ThreadSignerStates`; never reused.
    private let id = PresignSigner.nextID.add(1, ordering: .relaxed).newValue
    private static let nextID = Atomic<UInt64>(0)
    private let schemePrefix: [UInt8]
    /// The host, port and base path: what follows the scheme, or `bucket.`, in every URL.
    private let authorityAndBase: [UInt8]
    /// `scheme://authority/base`: the start of every path-style URL, before `/bucket`.
    private let pathStylePrefix: [UInt8]
    /// The offset of the base path in `authorityAndBase`.
    private let basePathOffset: Int
    private let hostHeader: [UInt8]
    /// The end of the canonical request of a URL that signs no header but host, after `host:` and
    /// the bucket's label in a virtual host: `<host>\n\nhost\nUNSIGNED-PAYLOAD`.
    private let hostOnlyTail: [UInt8]
    /// "X-Amz-Credential=" + UriEncode(accessKeyId) + "%2F"; the date follows.
    private let credentialPrefix: [UInt8]
    /// "%2F" + region + "%2Fs3%2Faws4_request".
    private let credentialSuffix: [UInt8]
    /// "/" + region + "/s3/aws4_request\n", the end of the scope line in the string to sign.
    private let scopeSuffix: [UInt8]
    /// "X-Amz-Security-Token=" + UriEncode(token), or empty.
    private let securityToken: [UInt8]

    /// Checks the credentials and encodes what every URL of this signer shares.
    package init(credentials: Credentials, endpoint: S3Endpoint) throws(SigV4Error) {
        try credentials.validate()
        self.credentials = credentials
        self.endpoint = endpoint
        schemePrefix = Array("\(endpoint.scheme.rawValue)://".utf8)
        authorityAndBase = Array(endpoint.urlAuthority.utf8) + Array(endpoint.basePath.utf8)
        basePathOffset = endpoint.urlAuthority.utf8.count
        pathStylePrefix = schemePrefix + authorityAndBase
        hostHeader = Array(endpoint.hostHeader.utf8)
        hostOnlyTail = Array("\(endpoint.hostHeader)\n\nhost\nUNSIGNED-PAYLOAD".utf8)
        credentialPrefix =
            Array("X-Amz-Credential=".utf8) + URIEncoding.encode(credentials.accessKeyId.utf8, keepSlash: false)
            + Array("%2F".utf8)
        credentialSuffix = Array("%2F\(endpoint.region)%2Fs3%2Faws4_request".utf8)
        scopeSuffix = Array("/\(endpoint.region)/s3/aws4_request\n".utf8)
        securityToken =
            credentials.sessionToken.map {
                Array("X-Amz-Security-Token=".utf8) + URIEncoding.encode($0.utf8, keepSlash: false)
            } ?? []
    }

    /// Presigns `request` as of `time` (unix seconds; X-Amz-Date).
    package func presign(_ request: PresignRequest, at time: Int64) throws(SigV4Error) -> PresignedURL {
        try sign(request, at: time, observe: nil)
    }

    /// Presigns and also returns every intermediate value of SPEC §2 (for tests and debugging;
    /// the values include the signing key: never log them).
    package func presignDetailed(_ request: PresignRequest, at time: Int64) throws(SigV4Error)
        -> (url: PresignedURL, details: SigningDetails)
    {
        var canonicalRequest = ""
        var stringToSign = ""
        let url = try sign(request, at: time) { view in
            canonicalRequest = String(decoding: view.canonical, as: UTF8.self)
            stringToSign = String(decoding: view.stamp.toSignPrefix + Array(view.requestHash.hex.utf8), as: UTF8.self)
        }
        let key = stamp(for: url.amzDate).key
        return (
            url, SigningDetails(canonicalRequest: canonicalRequest, stringToSign: stringToSign, signingKey: key.digest)
        )
    }

    /// The stamp of `date`'s second: this thread's last one, or a new one (once per second; the
    /// signing key comes from the cache, derived once per day).
    private func stamp(for date: AmzDate) -> SigningStamp {
        threadState()._withUnsafeGuaranteedRef { $0.stamp(for: date, making: { makeStamp(for: $0) }).takeUnretainedValue() }
    }

    private func makeStamp(for date: AmzDate) -> SigningStamp {
        SigningStamp(
            date: date, key: keys.key(secret: credentials.secretAccessKey, date: date, region: endpoint.region),
            credentialPrefix: credentialPrefix, credentialSuffix: credentialSuffix, scopeSuffix: scopeSuffix)
    }

    /// This thread's state for this signer, unretained: valid until this thread signs with another
    /// signer (its state could then push this one out).
    private func threadState() -> Unmanaged<SignerThreadState> {
        ThreadSignerStates.current()._withUnsafeGuaranteedRef { $0.state(for: id) }
    }

    /// How many shapes this thread keeps for the signer now (for tests).
    package var shapeCount: Int { threadState()._withUnsafeGuaranteedRef { $0.shapeCount } }

    /// Refuses what S3 would refuse, or what would produce a URL that cannot work: the checks of
    /// what a URL's shape does not fix, then `validateShape`.
    private func validate(_ request: borrowing PresignRequest, at time: Int64) throws(SigV4Error) -> AmzDate {
        guard let date = AmzDate(unixSeconds: time) else {
            throw SigV4Error(.invalidTime, "signing time must be between 1970-01-01 and 9999-12-31")
        }
        guard (1...PresignRequest.maxExpires).contains(request.expires) else {
            throw SigV4Error(.invalidExpiry, "expiry must be 1..604800 seconds")
        }
        if let limit = credentials.expiresAt {
            guard time < limit else { throw SigV4Error(.credentialsExpired, "the credentials have expired") }
            guard time + request.expires <= limit else {
                throw SigV4Error(
                    .expiryPastCredentials, "expiry must not outlast the credentials (\(limit - time) s left)")
            }
        }
        guard (1...1024).contains(request.key.utf8.count) else {
            throw SigV4Error(.invalidKey, "object key must be 1..1024 bytes of UTF-8")
        }
        return date
    }

    /// The checks of the bucket and the operation parameters (the headers' are the `HeaderPlan`'s),
    /// passed by every request that matches a kept shape.
    private func validateShape(_ request: borrowing PresignRequest) throws(SigV4Error) {
        try BucketName.validate(request.bucket)
        for (name, _) in request.query {
            guard !name.isEmpty else { throw SigV4Error(.invalidQueryParameter, "query parameter name is empty") }
            guard !Self.authParameterNames.contains(name.lowercased()) else {
                throw SigV4Error(.invalidQueryParameter, "query parameter \(name) is reserved for SigV4")
            }
        }
    }

    private static let authParameterNames: Set<String> = [
        "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-expires", "x-amz-signedheaders",
        "x-amz-security-token", "x-amz-signature",
    ]

    private static let hostOnly: StaticString = "host"

    /// A name=value pair already written into the URL, by byte ranges.
    private struct Pair {
        let name: Range<Int>
        let value: Range<Int>
    }

    /// What the full signing path shows `presignDetailed` of a signature, while its buffers live.
    private struct SigningView {
        let canonical: UnsafeBufferPointer<UInt8>
        let requestHash: Digest
        let stamp: SigningStamp
    }

    private func sign(
        _ request: borrowing PresignRequest, at time: Int64, observe: ((SigningView) -> Void)?
    ) throws(SigV4Error) -> PresignedURL {
        let date = try validate(request, at: time)
        // This thread's state, looked up once (its stamp, its shapes, its recent misses) and used
        // unretained: the thread's states hold it, and nothing here signs with another signer.
        let state = threadState()
        let stamp = state._withUnsafeGuaranteedRef { $0.stamp(for: date, making: { makeStamp(for: $0) }) }
        // A request without operation parameters is signed from a kept shape when it has one; the
        // full path cuts its shape when it was missed recently too (seen twice).
        let shapeable = request.query.isEmpty && observe == nil
        if shapeable, let shape = state._withUnsafeGuaranteedRef({ $0.shape(matching: request) }) {
            return stamp._withUnsafeGuaranteedRef { stamp in
                shape._withUnsafeGuaranteedRef { sign(key: request.key, shape: $0, stamp: stamp) }
            }
        }
        try validateShape(request)
        let stamped = stamp.takeUnretainedValue()
        let (url, shape): (PresignedURL, URLShape?)
        if request.headers.isEmpty {
            (url, shape) = sign(request, plan: nil, stamp: stamped, cutting: shapeable ? state : nil, observe: observe)
        } else {
            // The headers' canonical form, in scratch memory on the stack.
            let capacity = HeaderPlan.capacity(for: request.headers)
            (url, shape) = try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity.total) {
                (scratch) throws(SigV4Error) in
                let plan = try HeaderPlan.make(request.headers, linesCapacity: capacity.lines, into: scratch)
                return sign(request, plan: plan, stamp: stamped, cutting: shapeable ? state : nil, observe: observe)
            }
        }
        if let shape { state._withUnsafeGuaranteedRef { $0.insert(shape) } }
        return url
    }

    /// Signs a request of `shape`'s: its bytes around the key, the stamp's auth query in both.
    private func sign(key: String, shape: URLShape, stamp: SigningStamp) -> PresignedURL {
        var signature = Digest()
        let url = key.utf8.withContiguousBytes { key in
            shape.withParts { parts in
                let auth = stamp.authQuery.count
                let urlBound = parts.urlHead.count + 3 * key.count + 1 + auth + parts.urlTail.count + 81
                return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: urlBound) { buffer in
                    var url = ByteWriter(buffer)
                    url.append(parts.urlHead)
                    let keyStart = url.count
                    url.appendEncoded(key, keepSlash: true)
                    let encodedKey = url.bytes(keyStart..<url.count)
                    url.append(UInt8(ascii: "?"))
                    url.append(stamp.authQuery)
                    url.append(parts.urlTail)
                    let crBound =
                        parts.canonicalHead.count + encodedKey.count + 1 + auth + parts.canonicalTail.count
                        + Crypto.paddingCapacity
                    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: crBound) { buffer in
                        var canonical = ByteWriter(buffer)
                        canonical.append(parts.canonicalHead)
                        canonical.append(encodedKey)
                        canonical.append(UInt8(ascii: "\n"))
                        canonical.append(stamp.authQuery)
                        canonical.append(parts.canonicalTail)
                        signature = stamp.signature(ofHash: canonical.hashPaddingInPlace())
                    }
                    url.append("&X-Amz-Signature=")
                    url.appendHex(signature)
                    return String(ascii: url.written)
                }
            }
        }
        return PresignedURL(
            url: url, signatureDigest: signature, amzDate: stamp.date, expiresAt: stamp.date.unixSeconds + shape.expires)
    }

    /// The full path: every part of the URL and the canonical request written for this request, as
    /// of `stamp`'s second; and, given the thread's state (`cutting`) and when that thread missed
    /// the same shape recently, its shape cut from them.
    private func sign(
        _ request: borrowing PresignRequest, plan: HeaderPlan?, stamp: SigningStamp,
        cutting state: Unmanaged<SignerThreadState>?,
        observe: ((SigningView) -> Void)?
    ) -> (PresignedURL, URLShape?) {
        let date = stamp.date
        let time = date.unixSeconds
        let virtual = endpoint.usesVirtualHosting(bucket: request.bucket)
        let signedHeaders =
            plan?.signedHeaders ?? UnsafeBufferPointer(start: Self.hostOnly.utf8Start, count: Self.hostOnly.utf8CodeUnitCount)

        var signature = Digest()
        var shape: URLShape?
        let url = request.bucket.utf8.withContiguousBytes { bucket in
            request.key.utf8.withContiguousBytes { key in
                // Upper bounds: every encoded byte takes at most 3, and the fixed text is < 200.
                var queryBound = 100 + stamp.authQuery.count + securityToken.count
                queryBound += 3 * signedHeaders.count
                for (name, value) in request.query { queryBound += 3 * (name.utf8.count + value.utf8.count) + 2 }
                let pathBound = 2 * bucket.count + 2 + 3 * key.count
                let urlBound = pathStylePrefix.count + pathBound + queryBound + 70
                return String(unsafeUninitializedCapacity: urlBound) { buffer in
                    var url = ByteWriter(buffer)
                    let pathStart: Int
                    if virtual {
                        url.append(schemePrefix)
                        url.append(bucket)
                        url.append(UInt8(ascii: "."))
                        pathStart = url.count + basePathOffset
                        url.append(authorityAndBase)
                    } else {
                        pathStart = pathStylePrefix.count - (authorityAndBase.count - basePathOffset)
                        url.append(pathStylePrefix)
                        url.append(UInt8(ascii: "/"))
                        url.append(bucket)
                    }
                    url.append(UInt8(ascii: "/"))
                    let keyStart = url.count
                    url.appendEncoded(key, keepSlash: true)
                    let path = pathStart..<url.count
                    url.append(UInt8(ascii: "?"))

                    // SPEC §2.5: operation parameters first, in caller order, then the auth
                    // parameters in botocore's fixed order.
                    var pairs: [Pair] = []
                    if !request.query.isEmpty {
                        pairs.reserveCapacity(request.query.count + 6)
                        for (name, value) in request.query {
                            let nameStart = url.count
                            name.utf8.withContiguousBytes { url.appendEncoded($0, keepSlash: false) }
                            let nameRange = nameStart..<url.count
                            url.append(UInt8(ascii: "="))
                            let valueStart = url.count
                            value.utf8.withContiguousBytes { url.appendEncoded($0, keepSlash: false) }
                            pairs.append(Pair(name: nameRange, value: valueStart..<url.count))
                            url.append(UInt8(ascii: "&"))
                        }
                    }
                    let authStart = url.count
                    url.append(stamp.authQuery)
                    let algorithm = authStart..<authStart + 32
                    let credential = stamp.credential.shifted(by: authStart)
                    let amzDate = stamp.amzDate.shifted(by: authStart)
                    let expiresStart = amzDate.upperBound + 1
                    url.appendDecimal(request.expires)
                    let expires = expiresStart..<url.count
                    url.append(UInt8(ascii: "&"))
                    let signedStart = url.count
                    if let plan {
                        url.append("X-Amz-SignedHeaders=")
                        url.append(plan.encodedSignedHeaders)
                    } else {
                        url.append("X-Amz-SignedHeaders=host")
                    }
                    let signed = signedStart..<url.count
                    var token = 0..<0
                    if !securityToken.isEmpty {
                        url.append(UInt8(ascii: "&"))
                        token = url.count..<url.count + securityToken.count
                        url.append(securityToken)
                    }

                    var crBound = 8 + path.count + (url.count - path.upperBound) + hostHeader.count + bucket.count + 8
                    crBound += 2 * signedHeaders.count + (plan?.lines.count ?? 0) + 24 + Crypto.paddingCapacity
                    // SPEC §2.7: the canonical request, hashed for the string to sign.
                    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: crBound) { buffer in
                        var canonical = ByteWriter(buffer)
                        canonical.append(request.method.canonicalLine)
                        let canonicalKeyStart = canonical.count + (keyStart - pathStart)
                        canonical.append(url.bytes(path))
                        canonical.append(UInt8(ascii: "\n"))
                        // SPEC §2.6: sorted by encoded name, then value. Without operation
                        // parameters the order is fixed; note Security-Token < SignedHeaders.
                        if pairs.isEmpty && token.isEmpty {
                            // The URL's own order is the sorted one: one copy.
                            canonical.append(url.bytes(algorithm.lowerBound..<signed.upperBound))
                        } else if pairs.isEmpty {
                            canonical.append(url.bytes(algorithm.lowerBound..<expires.upperBound))
                            canonical.append(UInt8(ascii: "&"))
                            canonical.append(url.bytes(token))
                            canonical.append(UInt8(ascii: "&"))
                            canonical.append(url.bytes(signed))
                        } else {
                            for range in [algorithm, credential, amzDate, expires, signed]
                                + (token.isEmpty ? [] : [token])
                            {
                                let equals = url.written[range].firstIndex(of: UInt8(ascii: "="))!
                                pairs.append(
                                    Pair(name: range.lowerBound..<equals, value: equals + 1..<range.upperBound))
                            }
                            let written = url.written
                            pairs.sort { a, b in
                                let nameA = written[a.name]
                                let nameB = written[b.name]
                                if nameA.elementsEqual(nameB) {
                                    return written[a.value].lexicographicallyPrecedes(written[b.value])
                                }
                                return nameA.lexicographicallyPrecedes(nameB)
                            }
                            for (index, pair) in pairs.enumerated() {
                                if index > 0 { canonical.append(UInt8(ascii: "&")) }
                                canonical.append(url.bytes(pair.name))
                                canonical.append(UInt8(ascii: "="))
                                canonical.append(url.bytes(pair.value))
                            }
                        }
                        canonical.append(UInt8(ascii: "\n"))
                        // SPEC §2.4: canonical headers, sorted, each line ending in \n; then the
                        // signed header names and the payload line.
                        if let plan { canonical.append(plan.linesBeforeHost) }
                        canonical.append("host:")
                        if virtual {
                            canonical.append(bucket)
                            canonical.append(UInt8(ascii: "."))
                        }
                        if let plan {
                            canonical.append(hostHeader)
                            canonical.append(UInt8(ascii: "\n"))
                            canonical.append(plan.linesAfterHost)
                            canonical.append(UInt8(ascii: "\n"))
                            canonical.append(signedHeaders)
                            canonical.append("\nUNSIGNED-PAYLOAD")
                        } else {
                            // The host value and the rest, made once per signer.
                            canonical.append(hostOnlyTail)
                        }
                        let requestHash = canonical.hashPaddingInPlace()
                        signature = stamp.signature(ofHash: requestHash)
                        observe?(SigningView(canonical: canonical.written, requestHash: requestHash, stamp: stamp))
                        if let state,
                            state._withUnsafeGuaranteedRef({
                                $0.missedBefore(
                                    URLShape.fingerprint(
                                        expires: request.expires, bucket: bucket,
                                        canonicalHead: canonical.bytes(0..<canonicalKeyStart), headerLines: plan?.lines))
                            })
                        {
                            shape = URLShape(
                                request, url: url.written, key: keyStart..<path.upperBound,
                                canonical: canonical.written, canonicalKeyStart: canonicalKeyStart,
                                authQuery: stamp.authQuery)
                        }
                    }
                    url.append("&X-Amz-Signature=")
                    url.appendHex(signature)
                    return url.count
                }
            }
        }
        return (
            PresignedURL(url: url, signatureDigest: signature, amzDate: date, expiresAt: time + request.expires), shape
        )
    }
}

/// The intermediate values of one signature (SPEC §2.4–2.9), as the vectors list them.
package struct SigningDetails: Sendable {
    package let canonicalRequest: String
    package let stringToSign: String
    package let signingKey: Digest

    /// Lines of the canonical request: method, URI, query, headers…, "", signed headers, payload.
    private var lines: [Substring] { canonicalRequest.split(separator: "\n", omittingEmptySubsequences: false) }

    /// The encoded path (SPEC §2.7 line 2).
    package var canonicalURI: String { String(lines[1]) }
    /// The sorted, encoded query of SPEC §2.6.
    package var canonicalQueryString: String { String(lines[2]) }
    /// The header lines of SPEC §2.4, each ending in `\n`.
    package var canonicalHeaders: String {
        let lines = self.lines
        return lines[3..<(lines.count - 3)].map { $0 + "\n" }.joined()
    }
    /// The `;`-joined signed header names.
    package var signedHeaders: String { String(lines[lines.count - 2]) }
}

extension Range<Int> {
    /// The same range moved `offset` positions.
    fileprivate func shifted(by offset: Int) -> Range<Int> { lowerBound + offset..<upperBound + offset }
}
