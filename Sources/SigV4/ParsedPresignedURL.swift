#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A presigned URL taken apart the way S3 reads it: every path segment and query name and value
/// percent-decoded (invalid escapes refused) and re-encoded per SPEC §2.2, so that equivalent
/// spellings (`%7e` and `~`, `%2f` and `%2F`) give the same canonical form, and the auth
/// parameters checked for presence, uniqueness and shape.
///
/// Every gateway request is parsed here before Redis is asked, so the URL is read as bytes in
/// one pass per part, into a few buffers: String's Character-level operations, per-parameter
/// arrays and a dictionary of names cost many times the hashing (bench: `PresignBench sign`'s
/// `verify_get_path`).
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

    /// The auth parameters, in the order a missing one is reported.
    private enum AuthParameter: Int, CaseIterable {
        case algorithm, credential, date, expires, signedHeaders, signature, securityToken

        var name: StaticString {
            switch self {
            case .algorithm: "X-Amz-Algorithm"
            case .credential: "X-Amz-Credential"
            case .date: "X-Amz-Date"
            case .expires: "X-Amz-Expires"
            case .signedHeaders: "X-Amz-SignedHeaders"
            case .signature: "X-Amz-Signature"
            case .securityToken: "X-Amz-Security-Token"
            }
        }

        var isRequired: Bool { self != .securityToken }

        /// The parameter a decoded name is, compared byte for byte (names are case-sensitive).
        init?(decodedName name: UnsafeBufferPointer<UInt8>) {
            // Every auth name starts with `X-Amz-` and is 10 to 20 bytes long; most others are not.
            guard (10...20).contains(name.count), name[0] == UInt8(ascii: "X"), name[5] == UInt8(ascii: "-") else {
                return nil
            }
            for candidate in Self.allCases where candidate.name.utf8CodeUnitCount == name.count {
                let text = candidate.name
                if memcmp(name.baseAddress!, text.utf8Start, name.count) == 0 {
                    self = candidate
                    return
                }
            }
            return nil
        }
    }

    init(_ url: String) throws(Rejection) {
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
        let path = question == targetStart ? Self.root[...] : bytes[targetStart..<question]

        // Path: each segment decoded and re-encoded; a `/` inside a segment (from %2F) stays encoded.
        var decodedPath: [UInt8] = []
        decodedPath.reserveCapacity(path.count)
        canonicalURI.reserveCapacity(3 * path.count)
        var index = path.startIndex
        while index < path.endIndex {
            if path[index] == UInt8(ascii: "/") {
                decodedPath.append(UInt8(ascii: "/"))
                canonicalURI.append(UInt8(ascii: "/"))
                index += 1
                continue
            }
            guard let byte = URIEncoding.decodedByte(path, at: &index) else {
                throw .malformed("invalid percent escape in the path")
            }
            decodedPath.append(byte)
            URIEncoding.append(byte, keepSlash: false, to: &canonicalURI)
        }
        guard let decoded = String(validating: decodedPath, as: UTF8.self) else {
            throw .malformed("path is not valid UTF-8")
        }
        self.decodedPath = decoded

        // Query: the encoded names and values of the signed parameters go into one buffer, sorted
        // by their ranges; the auth parameters' decoded values are kept by kind. Decoding never
        // lengthens and encoding at most triples, which sizes both buffers.
        let queryLength = bytes.count - question
        var decodedPiece = [UInt8](repeating: 0, count: queryLength)
        var encoded = [UInt8](repeating: 0, count: 3 * queryLength)
        var encodedCount = 0
        var pairs: [Pair] = []
        var auth = [String?](repeating: nil, count: AuthParameter.allCases.count)
        try decodedPiece.withUnsafeMutableBufferPointer { piece throws(Rejection) in
            try encoded.withUnsafeMutableBufferPointer { out throws(Rejection) in
                var writer = ByteWriter(out)
                var start = question + 1
                while true {
                    let end = bytes[start...].firstIndex(of: UInt8(ascii: "&")) ?? bytes.endIndex
                    guard start < end else { throw .malformed("empty query parameter") }
                    let equals = bytes[start..<end].firstIndex(of: UInt8(ascii: "=")) ?? end
                    guard let nameCount = URIEncoding.decode(bytes[start..<equals], into: piece, at: 0),
                        let valueCount = URIEncoding.decode(bytes[min(equals + 1, end)..<end], into: piece, at: nameCount)
                    else { throw .malformed("invalid percent escape in the query") }
                    let name = UnsafeBufferPointer(rebasing: piece[0..<nameCount])
                    let value = UnsafeBufferPointer(rebasing: piece[nameCount..<nameCount + valueCount])
                    let parameter = AuthParameter(decodedName: name)
                    if let parameter {
                        guard auth[parameter.rawValue] == nil else { throw .malformed("duplicate \(parameter.name)") }
                        guard let text = String(validating: value, as: UTF8.self) else {
                            throw .malformed("\(parameter.name) is not valid UTF-8")
                        }
                        auth[parameter.rawValue] = text
                    }
                    // Every parameter but the signature is signed.
                    if parameter != .signature {
                        let nameStart = writer.count
                        writer.appendEncoded(name, keepSlash: false)
                        let valueStart = writer.count
                        writer.appendEncoded(value, keepSlash: false)
                        pairs.append(Pair(name: nameStart..<valueStart, value: valueStart..<writer.count))
                    }
                    if end == bytes.endIndex { break }
                    start = end + 1
                }
                encodedCount = writer.count
            }
        }
        for parameter in AuthParameter.allCases where parameter.isRequired && auth[parameter.rawValue] == nil {
            throw .malformed("missing \(parameter.name)")
        }

        guard auth[AuthParameter.algorithm.rawValue] == "AWS4-HMAC-SHA256" else {
            throw .malformed("X-Amz-Algorithm is not AWS4-HMAC-SHA256")
        }
        amzDateText = auth[AuthParameter.date.rawValue]!
        guard let date = AmzDate(amzDateText) else { throw .malformed("X-Amz-Date is not yyyyMMddTHHmmssZ") }
        amzDate = date
        let expiresText = auth[AuthParameter.expires.rawValue]!
        guard (1...7).contains(expiresText.utf8.count), expiresText.utf8.allSatisfy({ (48...57).contains($0) }),
            let expires = Int64(expiresText), (1...604_800).contains(expires)
        else { throw .malformed("X-Amz-Expires is not an integer in 1..604800") }
        self.expires = expires
        credential = auth[AuthParameter.credential.rawValue]!
        signatureHex = auth[AuthParameter.signature.rawValue]!
        guard
            signatureHex.utf8.withContiguousBytes({ hex in
                hex.count == 64 && hex.allSatisfy { Hex.value(of: $0) != nil && !(65...70).contains($0) }
            })
        else { throw .malformed("X-Amz-Signature is not 64 lowercase hex characters") }

        signedHeadersText = auth[AuthParameter.signedHeaders.rawValue]!
        // Split on the bytes: the names must be non-empty lowercase tokens in strictly increasing
        // byte order, one of them host.
        let names = signedHeadersText.utf8.withContiguousBytes { text -> [String]? in
            let names = text.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false)
            guard
                names.allSatisfy({ name in
                    !name.isEmpty && name.allSatisfy { CanonicalHeaders.isTokenByte($0) && !(65...90).contains($0) }
                }),
                zip(names, names.dropFirst()).allSatisfy({ $0.lexicographicallyPrecedes($1) }),
                names.contains(where: { $0.elementsEqual("host".utf8) })
            else { return nil }
            return names.map { String(decoding: $0, as: UTF8.self) }
        }
        guard let names else {
            throw .malformed("X-Amz-SignedHeaders is not a sorted list of lowercase names including host")
        }
        signedHeaders = names

        pairs.sort { a, b in
            let nameA = encoded[a.name]
            let nameB = encoded[b.name]
            if nameA.elementsEqual(nameB) { return encoded[a.value].lexicographicallyPrecedes(encoded[b.value]) }
            return nameA.lexicographicallyPrecedes(nameB)
        }
        canonicalQuery.reserveCapacity(encodedCount + 2 * pairs.count)
        for (index, pair) in pairs.enumerated() {
            if index > 0 { canonicalQuery.append(UInt8(ascii: "&")) }
            canonicalQuery += encoded[pair.name]
            canonicalQuery.append(UInt8(ascii: "="))
            canonicalQuery += encoded[pair.value]
        }
    }

    /// A query parameter's encoded name and value, by their ranges in one buffer. (A struct, not a
    /// tuple: arrays of tuples look their type up at run time on every allocation.)
    private struct Pair {
        let name: Range<Int>
        let value: Range<Int>
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
