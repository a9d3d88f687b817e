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
/// Every gateway request is parsed here before Redis is asked, so the URL is read as bytes, in
/// place, with scratch space on the stack, and what the check needs is kept in one buffer: the
/// canonical URI and query and the auth values it reads, by ranges. Strings are made only for the
/// decoded path, which the caller gets back (bench: `PresignBench sign`'s `verify_get_path`).
struct ParsedPresignedURL {
    /// The canonical URI, the auth values below and the canonical query, by the ranges below.
    let text: [UInt8]
    let canonicalURI: Range<Int>
    /// Every parameter except X-Amz-Signature, encoded, sorted, joined (SPEC §2.6).
    let canonicalQuery: Range<Int>
    /// The decoded values of X-Amz-Credential, X-Amz-Date, X-Amz-SignedHeaders and X-Amz-Signature
    /// (the last 64 lowercase hex digits, the signed header names checked as described below).
    let credential: Range<Int>
    let amzDateText: Range<Int>
    let signedHeadersText: Range<Int>
    let signatureHex: Range<Int>
    let decodedPath: String
    let amzDate: AmzDate
    let expires: Int64
    /// `host[:port]` as the URL writes it, for an absolute URL; nil in origin form (`/…`).
    let authority: String?

    /// The access key id: X-Amz-Credential's decoded value up to its first `/`.
    var accessKeyId: String {
        let value = text[credential]
        return String(decoding: value.prefix { $0 != UInt8(ascii: "/") }, as: UTF8.self)
    }

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

    /// Where each auth parameter's decoded value was written, once found (by `rawValue`).
    private struct AuthValues {
        private var ranges = InlineArray<7, Range<Int>?>(repeating: nil)

        subscript(_ parameter: AuthParameter) -> Range<Int>? {
            get { ranges[parameter.rawValue] }
            set { ranges[parameter.rawValue] = newValue }
        }
    }

    /// A query parameter's encoded name and value, by their ranges in the scratch buffer.
    private struct Pair {
        let name: Range<Int>
        let value: Range<Int>
    }

    init(_ url: String) throws(Rejection) {
        let parsed = url.utf8.withContiguousBytes { bytes in
            Result { () throws(Rejection) in try ParsedPresignedURL(bytes: bytes) }
        }
        self = try parsed.get()
    }

    private init(bytes: UnsafeBufferPointer<UInt8>) throws(Rejection) {
        guard !bytes.isEmpty else {
            throw .malformed("URL must be absolute http(s) or start with '/'")
        }
        guard bytes.index(of: UInt8(ascii: "#"), from: 0) == nil else { throw .malformed("URL has a fragment") }
        var targetStart = 0
        var authority: String? = nil
        if let schemeEnd = Self.schemeEnd(bytes) {
            var authorityEnd = schemeEnd
            while authorityEnd < bytes.count && bytes[authorityEnd] != UInt8(ascii: "/")
                && bytes[authorityEnd] != UInt8(ascii: "?")
            {
                authorityEnd += 1
            }
            guard authorityEnd != schemeEnd else { throw .malformed("URL has no host") }
            authority = String(decoding: bytes[schemeEnd..<authorityEnd], as: UTF8.self)
            targetStart = authorityEnd
        } else {
            guard bytes[0] == UInt8(ascii: "/") else {
                throw .malformed("URL must be absolute http(s) or start with '/'")
            }
        }
        guard let question = bytes.index(of: UInt8(ascii: "?"), from: targetStart) else {
            throw .malformed("URL has no query string")
        }
        // An absolute URL with nothing between host and query (`http://h?…`) has the path `/`.
        let root: StaticString = "/"
        let path =
            question == targetStart
            ? UnsafeBufferPointer(start: root.utf8Start, count: 1)
            : UnsafeBufferPointer(rebasing: bytes[targetStart..<question])
        let query = UnsafeBufferPointer(rebasing: bytes[(question + 1)...])

        // Decoding never lengthens and encoding at most triples: the canonical URI takes at most
        // 3 bytes a path byte, the auth values and the canonical query together 4 a query byte and
        // one (ByteWriter traps rather than overrun, should this bound ever be wrong).
        let capacity = 3 * path.count + 4 * query.count + 8
        var parts = (canonicalURI: 0..<0, auth: AuthValues(), canonicalQuery: 0..<0, path: "")
        let text = try [UInt8](unsafeUninitializedCapacity: capacity) { (buffer, count) throws(Rejection) in
            var out = ByteWriter(buffer)
            // What was written stays initialised, even when a throw cuts it short.
            defer { count = out.count }
            parts.path = try Self.canonicalizePath(path, to: &out)
            parts.canonicalURI = 0..<out.count
            try Self.canonicalizeQuery(query, to: &out, auth: &parts.auth, canonicalQuery: &parts.canonicalQuery)
        }
        self.text = text
        self.authority = authority
        decodedPath = parts.path
        canonicalURI = parts.canonicalURI
        canonicalQuery = parts.canonicalQuery

        let auth = parts.auth
        for parameter in AuthParameter.allCases where parameter.isRequired && auth[parameter] == nil {
            throw .malformed("missing \(parameter.name)")
        }
        amzDateText = auth[.date]!
        credential = auth[.credential]!
        signatureHex = auth[.signature]!
        signedHeadersText = auth[.signedHeaders]!
        (amzDate, expires) = try text.withUnsafeBufferPointer { (text) throws(Rejection) -> (AmzDate, Int64) in
            func value(_ parameter: AuthParameter) -> UnsafeBufferPointer<UInt8> {
                UnsafeBufferPointer(rebasing: text[auth[parameter]!])
            }
            guard value(.algorithm).equals("AWS4-HMAC-SHA256") else {
                throw .malformed("X-Amz-Algorithm is not AWS4-HMAC-SHA256")
            }
            guard let date = AmzDate(bytes: value(.date)) else {
                throw .malformed("X-Amz-Date is not yyyyMMddTHHmmssZ")
            }
            let expiresText = value(.expires)
            guard (1...7).contains(expiresText.count), expiresText.allSatisfy({ (48...57).contains($0) }),
                case let expires = expiresText.reduce(0, { $0 * 10 + Int64($1 - 48) }), (1...604_800).contains(expires)
            else { throw .malformed("X-Amz-Expires is not an integer in 1..604800") }
            let signature = value(.signature)
            guard signature.count == 64, signature.allSatisfy({ Hex.value(of: $0) != nil && !(65...70).contains($0) })
            else { throw .malformed("X-Amz-Signature is not 64 lowercase hex characters") }
            guard Self.isSignedHeaderList(value(.signedHeaders)) else {
                throw .malformed("X-Amz-SignedHeaders is not a sorted list of lowercase names including host")
            }
            return (date, expires)
        }
    }

    /// Decodes and re-encodes each path segment into `out` and returns the decoded path; a `/`
    /// inside a segment (from %2F) stays encoded. A path without `%` is its own decoding.
    private static func canonicalizePath(_ path: UnsafeBufferPointer<UInt8>, to out: inout ByteWriter) throws(Rejection)
        -> String
    {
        if path.index(of: UInt8(ascii: "%"), from: 0) == nil {
            guard let decoded = Self.string(validating: path) else { throw .malformed("path is not valid UTF-8") }
            out.appendEncoded(path, keepSlash: true)
            return decoded
        }
        return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: path.count) {
            (decoded) throws(Rejection) -> String in
            var decodedCount = 0
            var segmentStart = 0
            func endSegment() {
                out.appendEncoded(UnsafeBufferPointer(rebasing: decoded[segmentStart..<decodedCount]), keepSlash: false)
            }
            var index = 0
            while index < path.count {
                if path[index] == UInt8(ascii: "/") {
                    endSegment()
                    out.append(UInt8(ascii: "/"))
                    decoded[decodedCount] = UInt8(ascii: "/")
                    decodedCount += 1
                    segmentStart = decodedCount
                    index += 1
                    continue
                }
                guard let byte = URIEncoding.decodedByte(path, at: &index) else {
                    throw .malformed("invalid percent escape in the path")
                }
                decoded[decodedCount] = byte
                decodedCount += 1
            }
            endSegment()
            guard let text = Self.string(validating: UnsafeBufferPointer(rebasing: decoded[..<decodedCount])) else {
                throw .malformed("path is not valid UTF-8")
            }
            return text
        }
    }

    /// Reads the query's parameters in order: each auth parameter's decoded value is appended to
    /// `out` and its range kept in `auth`; then the encoded names and values of every parameter
    /// but the signature, sorted, are appended as the canonical query.
    private static func canonicalizeQuery(
        _ query: UnsafeBufferPointer<UInt8>, to out: inout ByteWriter, auth: inout AuthValues,
        canonicalQuery: inout Range<Int>
    ) throws(Rejection) {
        // Each parameter takes at least one byte and a separator.
        let maxPairs = query.count / 2 + 1
        try withUnsafeTemporaryAllocation(of: Pair.self, capacity: maxPairs) { (pairs) throws(Rejection) in
            try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4 * query.count) {
                (scratch) throws(Rejection) in
                // The decoded parameter at the start of the scratch, encoded ones after it.
                let piece = UnsafeMutableBufferPointer(rebasing: scratch[..<query.count])
                var encoded = ByteWriter(UnsafeMutableBufferPointer(rebasing: scratch[query.count...]))
                var pairCount = 0
                var start = 0
                while true {
                    let end = query.index(of: UInt8(ascii: "&"), from: start) ?? query.count
                    guard start < end else { throw .malformed("empty query parameter") }
                    let equals = query.index(of: UInt8(ascii: "="), from: start, to: end) ?? end
                    let rawName = UnsafeBufferPointer(rebasing: query[start..<equals])
                    let rawValue = UnsafeBufferPointer(rebasing: query[min(equals + 1, end)..<end])
                    guard let nameCount = URIEncoding.decode(rawName, into: piece, at: 0),
                        let valueCount = URIEncoding.decode(rawValue, into: piece, at: nameCount)
                    else { throw .malformed("invalid percent escape in the query") }
                    let name = UnsafeBufferPointer(rebasing: piece[0..<nameCount])
                    let value = UnsafeBufferPointer(rebasing: piece[nameCount..<nameCount + valueCount])
                    let parameter = AuthParameter(decodedName: name)
                    if let parameter {
                        guard auth[parameter] == nil else { throw .malformed("duplicate \(parameter.name)") }
                        guard Self.isASCII(value) || Self.string(validating: value) != nil else {
                            throw .malformed("\(parameter.name) is not valid UTF-8")
                        }
                        let valueStart = out.count
                        out.append(value)
                        auth[parameter] = valueStart..<out.count
                    }
                    // Every parameter but the signature is signed.
                    if parameter != .signature {
                        let nameStart = encoded.count
                        encoded.appendEncoded(name, keepSlash: false)
                        let valueStart = encoded.count
                        encoded.appendEncoded(value, keepSlash: false)
                        pairs[pairCount] = Pair(name: nameStart..<valueStart, value: valueStart..<encoded.count)
                        pairCount += 1
                    }
                    if end == query.count { break }
                    start = end + 1
                }

                let written = encoded.written
                func bytes(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> {
                    UnsafeBufferPointer(rebasing: written[range])
                }
                var signed = UnsafeMutableBufferPointer(rebasing: pairs[..<pairCount])
                signed.sort { a, b in
                    let nameOrder = Self.compare(bytes(a.name), bytes(b.name))
                    return nameOrder != 0 ? nameOrder < 0 : Self.compare(bytes(a.value), bytes(b.value)) < 0
                }
                let queryStart = out.count
                for (index, pair) in signed.enumerated() {
                    if index > 0 { out.append(UInt8(ascii: "&")) }
                    out.append(bytes(pair.name))
                    out.append(UInt8(ascii: "="))
                    out.append(bytes(pair.value))
                }
                canonicalQuery = queryStart..<out.count
            }
        }
    }

    /// Byte-wise order: negative, zero or positive as `a` sorts before, with or after `b`.
    private static func compare(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Int {
        let common = min(a.count, b.count)
        if common > 0 {
            let order = memcmp(a.baseAddress!, b.baseAddress!, common)
            if order != 0 { return Int(order) }
        }
        return a.count - b.count
    }

    /// Whether every byte is ASCII (eight at a time).
    private static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        ByteLanes.all(bytes) { ByteLanes.allASCII($0) ? ByteLanes.high : 0 } ?? bytes.allSatisfy { $0 < 0x80 }
    }

    /// The String of `bytes`, or nil when they are not UTF-8. ASCII, the usual case, needs no
    /// further check (`String(validating:)` is not specialised: it looks types up at run time).
    private static func string(validating bytes: UnsafeBufferPointer<UInt8>) -> String? {
        isASCII(bytes) ? String(decoding: bytes, as: UTF8.self) : String(validating: bytes, as: UTF8.self)
    }

    /// Whether `list` is `;`-joined non-empty lowercase tokens in strictly increasing byte order,
    /// one of them `host`.
    private static func isSignedHeaderList(_ list: UnsafeBufferPointer<UInt8>) -> Bool {
        var previous: UnsafeBufferPointer<UInt8>?
        var hasHost = false
        let wellFormed = list.forEachPart(separatedBy: UInt8(ascii: ";")) { name in
            guard !name.isEmpty, name.allSatisfy({ CanonicalHeaders.isTokenByte($0) && !(65...90).contains($0) }),
                previous.map({ compare($0, name) < 0 }) ?? true
            else { return false }
            hasHost = hasHost || name.equals("host")
            previous = name
            return true
        }
        return wellFormed && hasHost
    }

    /// Where the authority starts when `bytes` begins with `http://` or `https://` (any case).
    private static func schemeEnd(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
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
