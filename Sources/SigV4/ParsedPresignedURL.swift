/// A presigned URL taken apart the way S3 reads it: every path segment and query name and value
/// percent-decoded (invalid escapes refused) and re-encoded per SPEC §2.2, so that equivalent
/// spellings (`%7e` and `~`, `%2f` and `%2F`) give the same canonical form, and the auth
/// parameters checked for presence, uniqueness and shape.
struct ParsedPresignedURL {
    var canonicalURI: [UInt8] = []
    var decodedPath = ""
    /// Every parameter except X-Amz-Signature, encoded, sorted, joined (SPEC §2.6).
    var canonicalQuery: [UInt8] = []
    var credential = ""
    var amzDateText = ""
    var amzDate: AmzDate
    var expires: Int64 = 0
    var signedHeadersText = ""
    var signedHeaders: [String] = []
    var signatureHex = ""

    private static let required = [
        "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature",
    ]

    init(_ url: String) throws(Rejection) {
        // Taken apart as bytes: String's Character-level operations cost several times the rest of
        // a verification, and every byte that matters here is ASCII.
        let bytes = Array(url.utf8)
        guard !bytes.contains(UInt8(ascii: "#")) else { throw .malformed("URL has a fragment") }
        var targetStart = 0
        if let schemeEnd = Self.schemeEnd(bytes) {
            let authorityEnd =
                bytes[schemeEnd...].firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") } ?? bytes.endIndex
            guard authorityEnd != schemeEnd else { throw .malformed("URL has no host") }
            targetStart = authorityEnd
        } else {
            guard bytes.first == UInt8(ascii: "/") else {
                throw .malformed("URL must be absolute http(s) or start with '/'")
            }
        }
        guard let question = bytes[targetStart...].firstIndex(of: UInt8(ascii: "?")) else {
            throw .malformed("URL has no query string")
        }
        // An absolute URL with nothing between host and query (`http://h?…`) has the path `/`.
        let pathBytes = question == targetStart ? Self.root[...] : bytes[targetStart..<question]

        // Path: decode and re-encode each segment; `/` inside a segment (from %2F) stays encoded.
        var decodedPath: [UInt8] = []
        for (index, segment) in pathBytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
            .enumerated()
        {
            guard let decoded = URIEncoding.decode(segment) else {
                throw .malformed("invalid percent escape in the path")
            }
            if index > 0 {
                canonicalURI.append(UInt8(ascii: "/"))
                decodedPath.append(UInt8(ascii: "/"))
            }
            canonicalURI += URIEncoding.encode(decoded, keepSlash: false)
            decodedPath += decoded
        }
        guard let path = String(validating: decodedPath, as: UTF8.self) else {
            throw .malformed("path is not valid UTF-8")
        }
        self.decodedPath = path

        var pairs: [(name: [UInt8], value: [UInt8])] = []
        var auth: [String: String] = [:]
        for piece in bytes[(question + 1)...].split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: false) {
            guard !piece.isEmpty else { throw .malformed("empty query parameter") }
            let equals = piece.firstIndex(of: UInt8(ascii: "=")) ?? piece.endIndex
            guard let name = URIEncoding.decode(piece[..<equals]),
                let value = URIEncoding.decode(
                    equals == piece.endIndex ? piece[equals...] : piece[piece.index(after: equals)...])
            else { throw .malformed("invalid percent escape in the query") }
            let nameText = String(decoding: name, as: UTF8.self)
            if Self.required.contains(nameText) || nameText == "X-Amz-Security-Token" {
                guard auth[nameText] == nil else { throw .malformed("duplicate \(nameText)") }
                guard let valueText = String(validating: value, as: UTF8.self) else {
                    throw .malformed("\(nameText) is not valid UTF-8")
                }
                auth[nameText] = valueText
                if nameText == "X-Amz-Signature" { continue }
            }
            pairs.append((URIEncoding.encode(name, keepSlash: false), URIEncoding.encode(value, keepSlash: false)))
        }
        for name in Self.required where auth[name] == nil { throw .malformed("missing \(name)") }

        guard auth["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256" else {
            throw .malformed("X-Amz-Algorithm is not AWS4-HMAC-SHA256")
        }
        amzDateText = auth["X-Amz-Date"]!
        guard let date = AmzDate(amzDateText) else { throw .malformed("X-Amz-Date is not yyyyMMddTHHmmssZ") }
        amzDate = date
        let expiresText = auth["X-Amz-Expires"]!.utf8
        guard (1...7).contains(expiresText.count), expiresText.allSatisfy({ (48...57).contains($0) }),
            let expires = Int64(auth["X-Amz-Expires"]!), (1...604_800).contains(expires)
        else { throw .malformed("X-Amz-Expires is not an integer in 1..604800") }
        self.expires = expires
        credential = auth["X-Amz-Credential"]!
        signatureHex = auth["X-Amz-Signature"]!
        guard signatureHex.utf8.count == 64,
            signatureHex.utf8.allSatisfy({ Hex.value(of: $0) != nil && !(65...70).contains($0) })
        else { throw .malformed("X-Amz-Signature is not 64 lowercase hex characters") }

        signedHeadersText = auth["X-Amz-SignedHeaders"]!
        signedHeaders = signedHeadersText.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
        guard
            signedHeaders.allSatisfy({ name in
                !name.isEmpty && name.utf8.allSatisfy { CanonicalHeaders.isTokenByte($0) && !(65...90).contains($0) }
            }),
            zip(signedHeaders, signedHeaders.dropFirst()).allSatisfy({ $0.utf8.lexicographicallyPrecedes($1.utf8) }),
            signedHeaders.contains("host")
        else { throw .malformed("X-Amz-SignedHeaders is not a sorted list of lowercase names including host") }

        pairs.sort { a, b in
            a.name == b.name ? a.value.lexicographicallyPrecedes(b.value) : a.name.lexicographicallyPrecedes(b.name)
        }
        for (index, pair) in pairs.enumerated() {
            if index > 0 { canonicalQuery.append(UInt8(ascii: "&")) }
            canonicalQuery += pair.name
            canonicalQuery.append(UInt8(ascii: "="))
            canonicalQuery += pair.value
        }
    }

    private static let root: [UInt8] = [UInt8(ascii: "/")]

    /// Where the authority starts when `bytes` begins with `http://` or `https://` (any case).
    private static func schemeEnd(_ bytes: [UInt8]) -> Int? {
        for scheme in ["http://", "https://"] as [StaticString] {
            let count = scheme.utf8CodeUnitCount
            guard bytes.count >= count else { continue }
            var matches = true
            for index in 0..<count where CanonicalHeaders.lowercased(bytes[index]) != scheme.utf8Start[index] {
                matches = false
                break
            }
            if matches { return count }
        }
        return nil
    }
}
