import Testing

@testable import SigV4

/// Verification: every vector URL verifies at its own time; any change to what was signed does not.
@Suite struct VerifierTests {
    static let vectors = Vector.all.filter { !$0.isQuirk }

    static func verifier(_ vector: Vector) -> PresignVerifier {
        PresignVerifier(secrets: [
            vector.input.accessKey: AccessKeySecret(
                secretAccessKey: vector.input.secretKey, region: vector.input.region)
        ])
    }

    static func verify(
        _ vector: Vector, url: String? = nil, method: String? = nil, host: String? = nil, at: Int64? = nil
    )
        -> Verdict
    {
        verifier(vector).verify(
            method: method ?? vector.input.method, url: url ?? vector.expected.url,
            signedHost: host ?? vector.expected.hostHeader, headers: vector.sentHeader, now: at ?? vector.time)
    }

    /// Replaces the raw value of query parameter `name` in `url`.
    static func replacing(_ name: String, in url: String, with value: String) -> String {
        let (base, query) = split(url)
        let pieces = query.split(separator: "&", omittingEmptySubsequences: false).map { piece in
            piece.hasPrefix(name + "=") ? "\(name)=\(value)" : String(piece)
        }
        return base + "?" + pieces.joined(separator: "&")
    }

    static func removing(_ name: String, from url: String) -> String {
        let (base, query) = split(url)
        return base + "?" + query.split(separator: "&").filter { !$0.hasPrefix(name + "=") }.joined(separator: "&")
    }

    static func split(_ url: String) -> (String, String) {
        let index = url.firstIndex(of: "?")!
        return (String(url[..<index]), String(url[url.index(after: index)...]))
    }

    static func rawValue(_ name: String, in url: String) -> String? {
        split(url).1.split(separator: "&").first { $0.hasPrefix(name + "=") }.map {
            String($0.dropFirst(name.count + 1))
        }
    }

    /// A one-character change that keeps the value's shape (hex stays hex, digits stay digits).
    static func bump(_ value: String) -> String {
        var bytes = Array(value.utf8)
        let index = bytes.lastIndex { URIEncoding.isUnreserved($0) && $0 != UInt8(ascii: "~") }!
        switch bytes[index] {
        case UInt8(ascii: "0"): bytes[index] = UInt8(ascii: "1")
        case UInt8(ascii: "9"): bytes[index] = UInt8(ascii: "8")
        case UInt8(ascii: "a"): bytes[index] = UInt8(ascii: "b")
        case UInt8(ascii: "f"), UInt8(ascii: "z"), UInt8(ascii: "Z"): bytes[index] -= 1
        default: bytes[index] = bytes[index] == UInt8(ascii: "-") ? UInt8(ascii: "_") : bytes[index] + 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test(arguments: vectors)
    func acceptsVectorURL(_ vector: Vector) throws {
        guard case .valid(let verified) = Self.verify(vector) else {
            Issue.record("not valid: \(Self.verify(vector))")
            return
        }
        #expect(verified.tokenId == tokenId(signatureHex: vector.expected.signature))
        #expect(verified.expiresAt == vector.expiresAt)
        #expect(verified.accessKeyId == vector.input.accessKey)
        #expect(verified.amzDate.description == vector.input.timestamp)
        #expect(verified.signedHeaders.joined(separator: ";") == vector.expected.signedHeaders)
        #expect(verified.path.hasSuffix(vector.key))
    }

    /// Schemes are case-insensitive (RFC 3986 §3.1), as S3 and every HTTP client treat them.
    @Test(arguments: vectors)
    func acceptsUpperCaseScheme(_ vector: Vector) throws {
        let url = vector.expected.url
        let scheme = url.firstRange(of: "://")!.lowerBound
        guard case .valid = Self.verify(vector, url: url[..<scheme].uppercased() + url[scheme...]) else {
            Issue.record("upper-case scheme not valid")
            return
        }
    }

    @Test(arguments: vectors)
    func acceptsOriginFormURL(_ vector: Vector) throws {
        let url = vector.expected.url
        let afterScheme = url.firstRange(of: "://")!.upperBound
        let origin = String(url[url[afterScheme...].firstIndex(of: "/")!...])
        guard case .valid = Self.verify(vector, url: origin) else {
            Issue.record("origin-form not valid")
            return
        }
    }

    @Test(arguments: vectors)
    func expiryBoundaries(_ vector: Vector) {
        guard case .valid = Self.verify(vector, at: vector.expiresAt) else {
            Issue.record("not valid at exactly expiresAt")
            return
        }
        guard case .expired(let verified) = Self.verify(vector, at: vector.expiresAt + 1) else {
            Issue.record("not expired one second after expiresAt")
            return
        }
        #expect(verified.tokenId == tokenId(signatureHex: vector.expected.signature))
    }

    /// S3 allows 15 minutes of clock skew; beyond it the URL is not yet valid (a denial).
    @Test(arguments: vectors)
    func futureDate(_ vector: Vector) {
        guard case .valid = Self.verify(vector, at: vector.time - 900) else {
            Issue.record("not valid 900 s early")
            return
        }
        #expect(
            Self.verify(vector, at: vector.time - 901)
                == .badSignature("X-Amz-Date is more than 15 minutes in the future"))
    }

    @Test(arguments: vectors)
    func rejectsChangedSignature(_ vector: Vector) {
        let signature = vector.expected.signature
        let url = Self.replacing("X-Amz-Signature", in: vector.expected.url, with: Self.bump(signature))
        #expect(Self.verify(vector, url: url) == .badSignature("signature does not match"))
    }

    @Test(arguments: vectors)
    func rejectsChangedPath(_ vector: Vector) {
        let (base, query) = Self.split(vector.expected.url)
        #expect(Self.verify(vector, url: Self.bump(base) + "?" + query) == .badSignature("signature does not match"))
    }

    /// Each signed query parameter (all but X-Amz-Signature), changed by one character.
    @Test(arguments: vectors)
    func rejectsChangedQueryParameter(_ vector: Vector) {
        let url = vector.expected.url
        for piece in Self.split(url).1.split(separator: "&") where !piece.hasPrefix("X-Amz-Signature=") {
            let name = String(piece.prefix { $0 != "=" })
            let value = Self.rawValue(name, in: url)!
            let changed = Self.replacing(name, in: url, with: Self.bump(value))
            let verdict = Self.verify(vector, url: changed)
            if case .valid = verdict { Issue.record("change to \(name) still verifies") }
            if case .expired = verdict { Issue.record("change to \(name) still verifies") }
        }
    }

    @Test(arguments: vectors)
    func rejectsOtherMethod(_ vector: Vector) {
        for method in S3Method.allCases where method.rawValue != vector.input.method {
            #expect(Self.verify(vector, method: method.rawValue) == .badSignature("signature does not match"))
        }
    }

    @Test(arguments: vectors)
    func rejectsOtherHost(_ vector: Vector) {
        #expect(
            Self.verify(vector, host: "other." + vector.expected.hostHeader)
                == .badSignature("signature does not match"))
    }

    @Test(arguments: vectors)
    func rejectsOtherDate(_ vector: Vector) {
        // One second away, staying on the same UTC day so that the credential scope still agrees.
        let later = AmzDate(unixSeconds: vector.time % 86_400 == 86_399 ? vector.time - 1 : vector.time + 1)!
            .description
        let url = Self.replacing("X-Amz-Date", in: vector.expected.url, with: later)
        #expect(Self.verify(vector, url: url) == .badSignature("signature does not match"))
    }

    @Test(arguments: vectors)
    func rejectsUnsignedExtraParameter(_ vector: Vector) {
        #expect(Self.verify(vector, url: vector.expected.url + "&foo=bar") == .badSignature("signature does not match"))
    }

    @Test func missingSignedHeaderMakesURLUnverifiable() {
        let vector = Vector.named("put-content-length-md5")
        let verdict = Self.verifier(vector).verify(
            method: "PUT", url: vector.expected.url, signedHost: vector.expected.hostHeader,
            headers: { $0 == "content-md5" ? nil : vector.sentHeader($0) }, now: vector.time)
        #expect(verdict == .badSignature("signed header content-md5 was not provided"))
        let changed = Self.verifier(vector).verify(
            method: "PUT", url: vector.expected.url, signedHost: vector.expected.hostHeader,
            headers: { $0 == "content-length" ? "12" : vector.sentHeader($0) }, now: vector.time)
        #expect(changed == .badSignature("signature does not match"))
    }

    /// S3 decodes and re-encodes, so equivalent spellings of the same bytes verify.
    @Test func equivalentEncodingsVerify() {
        let vector = Vector.named("key-tilde")
        let url = vector.expected.url.replacing("~", with: "%7e")
        guard case .valid = Self.verify(vector, url: url) else {
            Issue.record("%7e not accepted for ~")
            return
        }
        let sub = Vector.named("key-sub-delims")
        guard case .valid = Self.verify(sub, url: sub.expected.url.replacing("%2A", with: "%2a")) else {
            Issue.record("lower-case escape not accepted")
            return
        }
    }

    static let aws = Vector.named("aws-doc-example")
    static let token = Vector.named("put-session-token")

    static let malformed = singleCases + badExpires + badSignedHeaders

    /// Cases that give one parameter of the AWS example each of several bad values, all refused
    /// for the same reason: (label, URL, reason) as in `malformed`.
    static func eachValue(
        of name: String, _ values: [(label: String, value: String)], reason: String
    ) -> [(String, String, String)] {
        values.map { ($0.label, replacing(name, in: aws.expected.url, with: $0.value), reason) }
    }

    static let badExpires = eachValue(
        of: "X-Amz-Expires",
        [
            ("expires 0", "0"), ("expires 604801", "604801"), ("expires negative", "-1"),
            ("expires fraction", "3600.5"), ("expires plus", "%2B3600"),
        ],
        reason: "X-Amz-Expires is not an integer in 1..604800")

    static let badSignedHeaders = eachValue(
        of: "X-Amz-SignedHeaders",
        [
            ("signed headers unsorted", "host%3Bcontent-type"), ("signed headers without host", "content-type"),
            ("signed headers repeated", "host%3Bhost"), ("signed headers with an empty name", "host%3B"),
            ("signed headers empty", ""), ("signed headers in upper case", "Host"),
        ],
        reason: "X-Amz-SignedHeaders is not a sorted list of lowercase names including host")

    static let singleCases: [(String, String, String)] = [
        ("missing algorithm", removing("X-Amz-Algorithm", from: aws.expected.url), "missing X-Amz-Algorithm"),
        ("missing credential", removing("X-Amz-Credential", from: aws.expected.url), "missing X-Amz-Credential"),
        ("missing date", removing("X-Amz-Date", from: aws.expected.url), "missing X-Amz-Date"),
        ("missing expires", removing("X-Amz-Expires", from: aws.expected.url), "missing X-Amz-Expires"),
        (
            "missing signed headers", removing("X-Amz-SignedHeaders", from: aws.expected.url),
            "missing X-Amz-SignedHeaders"
        ),
        ("missing signature", removing("X-Amz-Signature", from: aws.expected.url), "missing X-Amz-Signature"),
        ("duplicate date", aws.expected.url + "&X-Amz-Date=20130524T000000Z", "duplicate X-Amz-Date"),
        (
            "duplicate signature", aws.expected.url + "&X-Amz-Signature=" + aws.expected.signature,
            "duplicate X-Amz-Signature"
        ),
        ("duplicate token", token.expected.url + "&X-Amz-Security-Token=x", "duplicate X-Amz-Security-Token"),
        (
            "algorithm", replacing("X-Amz-Algorithm", in: aws.expected.url, with: "AWS4-HMAC-SHA512"),
            "X-Amz-Algorithm is not AWS4-HMAC-SHA256"
        ),
        (
            "date shape", replacing("X-Amz-Date", in: aws.expected.url, with: "2013-05-24T000000Z"),
            "X-Amz-Date is not yyyyMMddTHHmmssZ"
        ),
        (
            "date calendar", replacing("X-Amz-Date", in: aws.expected.url, with: "20130532T000000Z"),
            "X-Amz-Date is not yyyyMMddTHHmmssZ"
        ),
        (
            "scope date",
            replacing(
                "X-Amz-Credential", in: aws.expected.url,
                with: "AKIAIOSFODNN7EXAMPLE%2F20130525%2Fus-east-1%2Fs3%2Faws4_request"),
            "credential scope date differs from X-Amz-Date"
        ),
        (
            "scope service",
            replacing(
                "X-Amz-Credential", in: aws.expected.url,
                with: "AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs4%2Faws4_request"),
            "credential scope service is not s3"
        ),
        (
            "scope terminator",
            replacing(
                "X-Amz-Credential", in: aws.expected.url,
                with: "AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws5_request"),
            "credential scope does not end in aws4_request"
        ),
        (
            "scope shape",
            replacing(
                "X-Amz-Credential", in: aws.expected.url, with: "AKIAIOSFODNN7EXAMPLE%2F20130524%2Fs3%2Faws4_request"),
            "X-Amz-Credential is not key/date/region/s3/aws4_request"
        ),
        (
            "scope with a sixth part, as long as the fifth",
            replacing(
                "X-Amz-Credential", in: aws.expected.url,
                with: "AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request%2Faws4_request"),
            "X-Amz-Credential is not key/date/region/s3/aws4_request"
        ),
        (
            "scope ending in a slash",
            replacing(
                "X-Amz-Credential", in: aws.expected.url,
                with: "AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request%2F"),
            "X-Amz-Credential is not key/date/region/s3/aws4_request"
        ),
        (
            "scope with an empty part",
            replacing(
                "X-Amz-Credential", in: aws.expected.url,
                with: "AKIAIOSFODNN7EXAMPLE%2F20130524%2F%2Fs3%2Faws4_request"),
            "credential scope region is not the access key's region"
        ),
        (
            "unknown key",
            replacing(
                "X-Amz-Credential", in: aws.expected.url, with: "AKIAOTHER%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"),
            "unknown access key"
        ),
        (
            "region",
            replacing(
                "X-Amz-Credential", in: aws.expected.url,
                with: "AKIAIOSFODNN7EXAMPLE%2F20130524%2Feu-west-1%2Fs3%2Faws4_request"),
            "credential scope region is not the access key's region"
        ),
        (
            "signature shape",
            replacing("X-Amz-Signature", in: aws.expected.url, with: aws.expected.signature.uppercased()),
            "X-Amz-Signature is not 64 lowercase hex characters"
        ),
        (
            "signature too short",
            replacing("X-Amz-Signature", in: aws.expected.url, with: String(aws.expected.signature.dropLast())),
            "X-Amz-Signature is not 64 lowercase hex characters"
        ),
        (
            "path escape", aws.expected.url.replacing("/test.txt", with: "/test%zz.txt"),
            "invalid percent escape in the path"
        ),
        ("query escape", aws.expected.url + "&a=%4", "invalid percent escape in the query"),
        ("empty parameter", aws.expected.url.replacing("&X-Amz-Date", with: "&&X-Amz-Date"), "empty query parameter"),
        ("no query", split(aws.expected.url).0, "URL has no query string"),
        ("empty query", split(aws.expected.url).0 + "?", "empty query parameter"),
        ("empty URL", "", "URL must be absolute http(s) or start with '/'"),
        (
            "short auth value not UTF-8", replacing("X-Amz-Expires", in: aws.expected.url, with: "%FF"),
            "X-Amz-Expires is not valid UTF-8"
        ),
        (
            "long auth value not UTF-8",
            replacing("X-Amz-Credential", in: aws.expected.url, with: "AKIAIOSFODNN7EXAMPLE%2F20130524%C3%28"),
            "X-Amz-Credential is not valid UTF-8"
        ),
        ("fragment", aws.expected.url + "#x", "URL has a fragment"),
        ("relative", "test.txt?X-Amz-Date=1", "URL must be absolute http(s) or start with '/'"),
        ("other scheme", "ftp://h/test.txt?X-Amz-Date=1", "URL must be absolute http(s) or start with '/'"),
        ("no host", "https:///test.txt?X-Amz-Date=1", "URL has no host"),
        ("scheme only", "http://", "URL has no host"),
        (
            "invalid UTF-8 path", aws.expected.url.replacing("/test.txt", with: "/test%FF.txt"),
            "path is not valid UTF-8"
        ),
    ]

    @Test(arguments: 0..<malformed.count)
    func rejectsMalformed(_ index: Int) {
        let (_, url, reason) = Self.malformed[index]
        #expect(Self.verify(Self.aws, url: url) == .malformed(reason))
        // Taken apart alone, a URL of the wrong shape gives a caller nothing to act on, and the
        // same reason; the credential's scope is checked later, against the verifier's keys.
        let parsed = PresignVerifier.Parsed(url)
        let scopeProblem =
            reason == "unknown access key" || reason.hasPrefix("credential scope")
            || reason.hasPrefix("X-Amz-Credential is not key/")
        if !scopeProblem {
            #expect(parsed.accessKeyId == nil && parsed.authority == nil && parsed.problem == reason)
        }
    }

    /// What picks a caller's profile before verification: the access key id (the credential's
    /// decoded value up to its first `/`, however the slash is spelled) and an absolute URL's
    /// authority as written.
    @Test(arguments: vectors)
    func parsedURLNamesAccessKeyAndAuthority(_ vector: Vector) throws {
        let url = vector.expected.url
        let afterScheme = try #require(url.firstRange(of: "://")).upperBound
        let pathStart = try #require(url[afterScheme...].firstIndex(of: "/"))
        let absolute = PresignVerifier.Parsed(url)
        #expect(absolute.accessKeyId == vector.input.accessKey && absolute.problem == nil)
        #expect(absolute.authority == String(url[afterScheme..<pathStart]))
        let origin = PresignVerifier.Parsed(String(url[pathStart...]))
        #expect(origin.accessKeyId == vector.input.accessKey && origin.authority == nil)
        let credential = try #require(Self.rawValue("X-Amz-Credential", in: url))
        for slash in ["/", "%2f"] {
            let respelled = Self.replacing(
                "X-Amz-Credential", in: url, with: credential.replacingOccurrences(of: "%2F", with: slash))
            #expect(PresignVerifier.Parsed(respelled).accessKeyId == vector.input.accessKey, "\(slash)")
        }
    }

    @Test func rejectsUnpresignableMethod() {
        #expect(Self.verify(Self.aws, method: "POST") == .malformed("method is not GET, PUT, HEAD or DELETE"))
    }
}
