/// What every URL a signer makes within one second shares (SPEC §2.5, §2.8): the auth query
/// parameters up to `X-Amz-Expires=`, and the string to sign up to the canonical request's hash,
/// already absorbed into the HMAC's inner hash. A signer makes one per second it signs in, so a URL
/// costs only the bytes that are its own.
final class SigningStamp: Sendable {
    /// X-Amz-Date.
    let date: AmzDate
    /// kSigning for the date's day and the signer's region.
    let key: SigningKey
    /// `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=…&X-Amz-Date=…&X-Amz-Expires=`.
    let authQuery: [UInt8]
    /// Where the credential and date pairs sit in `authQuery` (the algorithm pair is its first 32 bytes).
    let credential: Range<Int>
    let amzDate: Range<Int>
    /// `AWS4-HMAC-SHA256\n<date>\n<scope>\n`: the string to sign before the request's hash.
    let toSignPrefix: [UInt8]
    /// `key.mac` with `toSignPrefix` absorbed, for the 64 hex digits of a canonical request's hash.
    let mac: FixedLengthMAC

    /// The stamp of `date`, for an access key already URI-encoded into `credentialPrefix`
    /// (`X-Amz-Credential=<id>%2F`) and `credentialSuffix` (`%2F<region>%2Fs3%2Faws4_request`).
    init(
        date: AmzDate, key: SigningKey, credentialPrefix: [UInt8], credentialSuffix: [UInt8], scopeSuffix: [UInt8]
    ) {
        let fields = date.fields
        self.date = date
        self.key = key
        let queryBound = 64 + credentialPrefix.count + credentialSuffix.count + 32
        var credential = 0..<0
        var amzDate = 0..<0
        authQuery = Array(unsafeUninitializedCapacity: queryBound) { buffer, count in
            var query = ByteWriter(buffer)
            query.append("X-Amz-Algorithm=AWS4-HMAC-SHA256&")
            let credentialStart = query.count
            query.append(credentialPrefix)
            fields.writeDate(to: &query)
            query.append(credentialSuffix)
            credential = credentialStart..<query.count
            query.append(UInt8(ascii: "&"))
            let dateStart = query.count
            query.append("X-Amz-Date=")
            fields.write(to: &query)
            amzDate = dateStart..<query.count
            query.append("&X-Amz-Expires=")
            count = query.count
        }
        self.credential = credential
        self.amzDate = amzDate
        toSignPrefix = Array(unsafeUninitializedCapacity: 17 + 17 + 8 + scopeSuffix.count) { buffer, count in
            var toSign = ByteWriter(buffer)
            toSign.append("AWS4-HMAC-SHA256\n")
            fields.write(to: &toSign)
            toSign.append(UInt8(ascii: "\n"))
            fields.writeDate(to: &toSign)
            toSign.append(scopeSuffix)
            count = toSign.count
        }
        mac = toSignPrefix.withUnsafeBytes { key.mac.absorbing($0) }.fixedLength(64)
    }

    /// The signature of a canonical request with this SHA-256 (SPEC §2.8): the MAC of the string
    /// to sign, this stamp's prefix (absorbed already) and the hash in hex.
    @inline(__always)
    func signature(ofHash requestHash: Digest) -> Digest {
        mac.authenticate { out in requestHash.withUnsafeBytes { Hex.write($0, to: out) } }
    }
}
