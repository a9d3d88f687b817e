/// Verifies presigned S3 URLs the way S3 does: rebuilds the canonical request from the method, the
/// path, every query parameter but X-Amz-Signature, and the signed headers, then compares the
/// signature in constant time; then checks the lifetime.
package final class PresignVerifier: Sendable {
    /// How far X-Amz-Date may be ahead of the verifier's clock (S3 allows 15 minutes of skew).
    package static let maxClockSkew: Int64 = 900

    private let secrets: @Sendable (String) -> AccessKeySecret?
    private let keys = SigningKeyCache(capacity: 64)

    /// `secrets` maps an access key id to its secret and region; nil means unknown.
    package init(secrets: @escaping @Sendable (String) -> AccessKeySecret?) {
        self.secrets = secrets
    }

    package convenience init(secrets: [String: AccessKeySecret]) {
        self.init(secrets: { secrets[$0] })
    }

    /// Verifies `url` (absolute `http(s)://host/path?query` or origin-form `/path?query`) for
    /// `method`, as signed for `signedHost` (the canonical host value, from configuration, not
    /// from the request). `headers` gives the values of signed headers other than host, by
    /// lowercase name. Valid while `now <= X-Amz-Date + X-Amz-Expires`.
    package func verify(
        method: String, url: String, signedHost: String, headers: (String) -> String? = { _ in nil }, now: Int64
    ) -> Verdict {
        verify(method: method, url: Parsed(url), signedHost: signedHost, headers: headers, now: now)
    }

    /// A URL taken apart once, to be verified for several methods (the method is signed, so a URL
    /// whose method is not known is tried as each), or its reason for being malformed.
    package struct Parsed {
        fileprivate let url: Result<ParsedPresignedURL, Rejection>

        package init(_ url: String) {
            do throws(Rejection) {
                self.url = .success(try ParsedPresignedURL(url))
            } catch {
                self.url = .failure(error)
            }
        }

        /// The access key id X-Amz-Credential names (which picks the secret, and a caller's
        /// profile); nil when the URL is malformed.
        package var accessKeyId: String? { try? url.get().accessKeyId }

        /// `host[:port]` of an absolute URL as written; nil in origin form, or when malformed.
        package var authority: String? { try? url.get().authority }

        /// The region X-Amz-Credential's scope names (`key/date/region/s3/aws4_request`); nil when
        /// the URL is malformed or the scope has no third part.
        package var scopeRegion: String? {
            guard let parsed = try? url.get() else { return nil }
            let scope = parsed.text[parsed.credential]
            let parts = scope.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
            return parts.count > 2 ? String(decoding: parts[2], as: UTF8.self) : nil
        }

        /// Why the URL could not be taken apart; nil when it was.
        package var problem: String? {
            switch url {
            case .success: nil
            case .failure(.malformed(let reason)), .failure(.badSignature(let reason)): reason
            }
        }
    }

    /// `verify(method:url:…)` of an already parsed URL.
    package func verify(
        method: String, url: Parsed, signedHost: String, headers: (String) -> String? = { _ in nil }, now: Int64
    ) -> Verdict {
        do {
            return try check(try url.url.get(), method: method, signedHost: signedHost, headers: headers, now: now)
        } catch {
            return error.verdict
        }
    }

    private func check(
        _ url: ParsedPresignedURL, method: String, signedHost: String, headers: (String) -> String?, now: Int64
    ) throws(Rejection) -> Verdict {
        guard S3Method(rawValue: method) != nil else {
            throw .malformed("method is not GET, PUT, HEAD or DELETE")
        }
        return try url.text.withUnsafeBufferPointer { (text) throws(Rejection) -> Verdict in
            func part(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: text[range]) }
            let dateText = part(url.amzDateText)
            let (accessKeyId, secret) = try scope(of: part(url.credential), date: dateText)
            let signedHeaders = part(url.signedHeadersText)
            let requestHash = try Self.canonicalRequestHash(
                method: method, uri: part(url.canonicalURI), query: part(url.canonicalQuery),
                signedHeaders: signedHeaders, signedHost: signedHost, headers: headers)

            // SPEC §2.8. The scope's date and region were checked to be these, the URL's own.
            let key = keys.key(secret: secret.secretAccessKey, date: url.amzDate, region: secret.region)
            let toSignCapacity = 128 + secret.region.utf8.count
            let expected = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: toSignCapacity) { buffer in
                var toSign = ByteWriter(buffer)
                toSign.append("AWS4-HMAC-SHA256\n")
                toSign.append(dateText)
                toSign.append(UInt8(ascii: "\n"))
                toSign.append(UnsafeBufferPointer(rebasing: dateText.prefix(8)))
                toSign.append(UInt8(ascii: "/"))
                secret.region.utf8.withContiguousBytes { toSign.append($0) }
                toSign.append("/s3/aws4_request\n")
                toSign.appendHex(requestHash)
                return key.mac.authenticate(UnsafeRawBufferPointer(toSign.written))
            }
            let signature = part(url.signatureHex)
            let matches = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { expectedHex in
                expected.withUnsafeBytes { Hex.write($0, to: expectedHex.baseAddress!) }
                return Crypto.constantTimeEqual(UnsafeRawBufferPointer(expectedHex), UnsafeRawBufferPointer(signature))
            }
            guard matches else { throw .badSignature("signature does not match") }

            let verified = VerifiedURL(
                tokenId: tokenId(hexBytes: UnsafeRawBufferPointer(signature)), accessKeyId: accessKeyId,
                region: secret.region, amzDate: url.amzDate, expiresAt: url.amzDate.unixSeconds + url.expires,
                signedHeaders: Self.names(signedHeaders), path: url.decodedPath)
            // Checked after the signature, so that `.expired` always means "genuine, but too late".
            if url.amzDate.unixSeconds - now > Self.maxClockSkew {
                throw .badSignature("X-Amz-Date is more than 15 minutes in the future")
            }
            return now <= verified.expiresAt ? .valid(verified) : .expired(verified)
        }
    }

    /// The access key and its secret from X-Amz-Credential's `key/date/region/s3/aws4_request`,
    /// whose date must be X-Amz-Date's and whose region the key's.
    private func scope(of credential: UnsafeBufferPointer<UInt8>, date: UnsafeBufferPointer<UInt8>) throws(Rejection)
        -> (accessKeyId: String, secret: AccessKeySecret)
    {
        // Exactly five parts.
        var parts = InlineArray<5, UnsafeBufferPointer<UInt8>>(repeating: UnsafeBufferPointer(start: nil, count: 0))
        var count = 0
        let atMostFive = credential.forEachPart(separatedBy: UInt8(ascii: "/")) { part in
            guard count < 5 else { return false }
            parts[count] = part
            count += 1
            return true
        }
        guard atMostFive, count == 5 else {
            throw .malformed("X-Amz-Credential is not key/date/region/s3/aws4_request")
        }
        let (key, scopeDate, region, service, terminal) = (parts[0], parts[1], parts[2], parts[3], parts[4])
        guard scopeDate.elementsEqual(date.prefix(8)) else {
            throw .malformed("credential scope date differs from X-Amz-Date")
        }
        guard service.equals("s3") else { throw .malformed("credential scope service is not s3") }
        guard terminal.equals("aws4_request") else {
            throw .malformed("credential scope does not end in aws4_request")
        }
        let accessKeyId = String(decoding: key, as: UTF8.self)
        guard let secret = secrets(accessKeyId) else { throw .malformed("unknown access key") }
        guard secret.region.utf8.withContiguousBytes({ region.elementsEqual($0) }) else {
            throw .malformed("credential scope region is not the access key's region")
        }
        return (accessKeyId, secret)
    }

    /// SHA-256 of the canonical request (SPEC §2.7): the method, the URL's canonical URI and
    /// query, each signed header's line (host from configuration, the others from `headers`,
    /// SPEC §2.4), the signed names and the payload line.
    private static func canonicalRequestHash(
        method: String, uri: UnsafeBufferPointer<UInt8>, query: UnsafeBufferPointer<UInt8>,
        signedHeaders: UnsafeBufferPointer<UInt8>, signedHost: String, headers: (String) -> String?
    ) throws(Rejection) -> Digest {
        let host = CanonicalHeaders.lowercased(signedHost)
        // The values of the signed headers other than host, in name order (most URLs sign host alone).
        var values: [String] = []
        var headerLines = 0
        var missing: String?
        forEachName(in: signedHeaders) { name in
            headerLines += name.count + 2
            if isHost(name) {
                headerLines += host.utf8.count
            } else if missing == nil {
                let text = String(decoding: name, as: UTF8.self)
                guard let value = headers(text) else {
                    missing = text
                    return
                }
                values.append(value)
                headerLines += value.utf8.count
            }
        }
        if let missing { throw .badSignature("signed header \(missing) was not provided") }

        let capacity =
            method.utf8.count + uri.count + query.count + headerLines + signedHeaders.count + 24
            + Crypto.paddingCapacity
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer in
            var canonical = ByteWriter(buffer)
            method.utf8.withContiguousBytes { canonical.append($0) }
            canonical.append(UInt8(ascii: "\n"))
            canonical.append(uri)
            canonical.append(UInt8(ascii: "\n"))
            canonical.append(query)
            canonical.append(UInt8(ascii: "\n"))
            var nextValue = 0
            forEachName(in: signedHeaders) { name in
                canonical.append(name)
                canonical.append(UInt8(ascii: ":"))
                if isHost(name) {
                    host.utf8.withContiguousBytes { canonical.append($0) }
                } else {
                    values[nextValue].utf8.withContiguousBytes { canonical.appendCanonicalHeaderValue($0) }
                    nextValue += 1
                }
                canonical.append(UInt8(ascii: "\n"))
            }
            canonical.append(UInt8(ascii: "\n"))
            canonical.append(signedHeaders)
            canonical.append("\nUNSIGNED-PAYLOAD")
            return canonical.hashPaddingInPlace()
        }
    }

    /// Calls `body` with each name of a `;`-joined list.
    private static func forEachName(in list: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        list.forEachPart(separatedBy: UInt8(ascii: ";")) { name in
            body(name)
            return true
        }
    }

    private static func isHost(_ name: UnsafeBufferPointer<UInt8>) -> Bool { name.equals("host") }

    /// The signed header names as Strings (most lists are `host` alone: one shared array).
    private static func names(_ list: UnsafeBufferPointer<UInt8>) -> [String] {
        if isHost(list) { return hostOnly }
        var names: [String] = []
        forEachName(in: list) { names.append(String(decoding: $0, as: UTF8.self)) }
        return names
    }

    private static let hostOnly = ["host"]
}

/// A refusal found while parsing or checking, turned into a `Verdict` at the end.
enum Rejection: Error {
    case malformed(String)
    case badSignature(String)
}

extension Error {
    fileprivate var verdict: Verdict {
        switch self as? Rejection {
        case .malformed(let reason): .malformed(reason)
        case .badSignature(let reason): .badSignature(reason)
        case nil: .malformed("unexpected error")
        }
    }
}
