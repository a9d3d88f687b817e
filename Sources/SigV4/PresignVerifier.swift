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
        // The credential scope: key/date/region/s3/aws4_request, taken apart on its bytes.
        let dateText = url.amzDateText
        let scope = url.credential.utf8.withContiguousBytes { credential -> Result<(String, AccessKeySecret), Rejection> in
            let parts = credential.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
            guard parts.count == 5 else {
                return .failure(.malformed("X-Amz-Credential is not key/date/region/s3/aws4_request"))
            }
            guard dateText.utf8.withContiguousBytes({ parts[1].elementsEqual($0.prefix(8)) }) else {
                return .failure(.malformed("credential scope date differs from X-Amz-Date"))
            }
            guard parts[3].elementsEqual("s3".utf8) else { return .failure(.malformed("credential scope service is not s3")) }
            guard parts[4].elementsEqual("aws4_request".utf8) else {
                return .failure(.malformed("credential scope does not end in aws4_request"))
            }
            let accessKeyId = String(decoding: parts[0], as: UTF8.self)
            guard let secret = secrets(accessKeyId) else { return .failure(.malformed("unknown access key")) }
            guard secret.region.utf8.withContiguousBytes({ parts[2].elementsEqual($0) }) else {
                return .failure(.malformed("credential scope region is not the access key's region"))
            }
            return .success((accessKeyId, secret))
        }
        let (accessKeyId, secret) = try scope.get()

        // SPEC §2.4: each signed header's canonical line; host comes from configuration.
        var canonicalHeaders: [UInt8] = []
        for name in url.signedHeaders {
            let value: [UInt8]
            if name == "host" {
                value = Array(CanonicalHeaders.lowercased(signedHost).utf8)
            } else {
                guard let given = headers(name) else { throw .badSignature("signed header \(name) was not provided") }
                value = CanonicalHeaders.canonicalValue(given)
            }
            canonicalHeaders += name.utf8
            canonicalHeaders.append(UInt8(ascii: ":"))
            canonicalHeaders += value
            canonicalHeaders.append(UInt8(ascii: "\n"))
        }

        var canonical: [UInt8] = []
        canonical.reserveCapacity(url.canonicalURI.count + url.canonicalQuery.count + canonicalHeaders.count + 128)
        canonical += method.utf8
        canonical.append(UInt8(ascii: "\n"))
        canonical += url.canonicalURI
        canonical.append(UInt8(ascii: "\n"))
        canonical += url.canonicalQuery
        canonical.append(UInt8(ascii: "\n"))
        canonical += canonicalHeaders
        canonical.append(UInt8(ascii: "\n"))
        canonical += url.signedHeadersText.utf8
        canonical += "\nUNSIGNED-PAYLOAD".utf8
        let requestHash = canonical.withUnsafeBytes { Crypto.sha256($0) }

        // SPEC §2.8. The scope's date and region were checked above to be these, the URL's own.
        var toSign: [UInt8] = []
        toSign.reserveCapacity(160 + secret.region.utf8.count)
        toSign += "AWS4-HMAC-SHA256\n".utf8
        toSign += dateText.utf8
        toSign.append(UInt8(ascii: "\n"))
        toSign += dateText.utf8.prefix(8)
        toSign.append(UInt8(ascii: "/"))
        toSign += secret.region.utf8
        toSign += "/s3/aws4_request\n".utf8
        requestHash.appendHex(to: &toSign)
        let key = keys.key(secret: secret.secretAccessKey, date: url.amzDate, region: secret.region)
        let expected = toSign.withUnsafeBytes { key.mac.authenticate($0) }
        var expectedHex: [UInt8] = []
        expected.appendHex(to: &expectedHex)
        var givenHex = url.signatureHex
        let matches = expectedHex.withUnsafeBytes { a in
            givenHex.withUTF8 { b in Crypto.constantTimeEqual(a, UnsafeRawBufferPointer(b)) }
        }
        guard matches else { throw .badSignature("signature does not match") }

        let verified = VerifiedURL(
            tokenId: tokenId(signatureHex: url.signatureHex), accessKeyId: accessKeyId, region: secret.region,
            amzDate: url.amzDate, expiresAt: url.amzDate.unixSeconds + url.expires,
            signedHeaders: url.signedHeaders, path: url.decodedPath)
        // Checked after the signature, so that `.expired` always means "genuine, but too late".
        if url.amzDate.unixSeconds - now > Self.maxClockSkew {
            throw .badSignature("X-Amz-Date is more than 15 minutes in the future")
        }
        return now <= verified.expiresAt ? .valid(verified) : .expired(verified)
    }
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
