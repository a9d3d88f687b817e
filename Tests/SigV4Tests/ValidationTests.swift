import Testing

@testable import SigV4

/// Every refusal of the signer names its problem with a stable code, and never carries the secret.
@Suite struct ValidationTests {
    static let now: Int64 = 1_784_118_896  // 2026-07-15T12:34:56Z
    static let credentials = Credentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "SECRET-never-shown")

    static func signer(_ credentials: Credentials = credentials) throws -> PresignSigner {
        try PresignSigner(credentials: credentials, endpoint: .aws(region: "eu-west-1"))
    }

    static func request(_ change: (inout PresignRequest) -> Void) -> PresignRequest {
        var request = PresignRequest(method: .get, bucket: "examplebucket", key: "a.txt", expires: 3600)
        change(&request)
        return request
    }

    static let refused: [(String, PresignRequest, SigV4Error.Code)] = [
        ("expiry 0", request { $0.expires = 0 }, .invalidExpiry),
        ("expiry -1", request { $0.expires = -1 }, .invalidExpiry),
        ("expiry 604801", request { $0.expires = 604_801 }, .invalidExpiry),
        ("empty key", request { $0.key = "" }, .invalidKey),
        ("1025-byte key", request { $0.key = String(repeating: "é", count: 512) + "x" }, .invalidKey),
        ("short bucket", request { $0.bucket = "ab" }, .invalidBucket),
        ("long bucket", request { $0.bucket = String(repeating: "a", count: 64) }, .invalidBucket),
        ("upper-case bucket", request { $0.bucket = "ExampleBucket" }, .invalidBucket),
        ("underscore bucket", request { $0.bucket = "example_bucket" }, .invalidBucket),
        ("bucket starting with hyphen", request { $0.bucket = "-example" }, .invalidBucket),
        ("bucket ending with dot", request { $0.bucket = "example." }, .invalidBucket),
        ("bucket with ..", request { $0.bucket = "ex..ample" }, .invalidBucket),
        ("IP-shaped bucket", request { $0.bucket = "192.168.5.4" }, .invalidBucket),
        ("xn-- bucket", request { $0.bucket = "xn--example" }, .invalidBucket),
        ("-s3alias bucket", request { $0.bucket = "example-s3alias" }, .invalidBucket),
        ("host header", request { $0.headers = [("Host", "evil.example")] }, .invalidHeader),
        ("duplicate header", request { $0.headers = [("Content-Type", "a"), ("content-type", "b")] }, .invalidHeader),
        ("header name with space", request { $0.headers = [("Content Type", "a")] }, .invalidHeader),
        ("header value with LF", request { $0.headers = [("x-amz-meta-a", "a\nb")] }, .invalidHeader),
        ("non-ASCII header value", request { $0.headers = [("x-amz-meta-a", "é")] }, .invalidHeader),
        ("user-agent header", request { $0.headers = [("User-Agent", "x")] }, .invalidHeader),
        ("empty query name", request { $0.query = [("", "x")] }, .invalidQueryParameter),
        ("auth query name", request { $0.query = [("X-Amz-Signature", "x")] }, .invalidQueryParameter),
        ("auth query name, other case", request { $0.query = [("x-amz-date", "x")] }, .invalidQueryParameter),
    ]

    @Test(arguments: 0..<refused.count)
    func refuses(_ index: Int) throws {
        let (_, request, code) = Self.refused[index]
        #expect {
            _ = try Self.signer().presign(request, at: Self.now)
        } throws: { error in
            guard let error = error as? SigV4Error else { return false }
            return error.code == code && !error.message.contains("SECRET") && !error.message.isEmpty
        }
    }

    @Test func acceptsTheLimits() throws {
        let signer = try Self.signer()
        for request in [
            Self.request { $0.expires = 1 }, Self.request { $0.expires = 604_800 },
            Self.request { $0.key = String(repeating: "é", count: 512) }, Self.request { $0.bucket = "abc" },
            Self.request { $0.bucket = String(repeating: "a", count: 63) }, Self.request { $0.bucket = "a.b-c.1" },
        ] {
            _ = try signer.presign(request, at: Self.now)
        }
    }

    @Test(arguments: ["get", "POST", "PATCH", ""])
    func refusesMethod(_ name: String) {
        #expect(throws: SigV4Error(.invalidMethod, "method must be one of GET, PUT, HEAD, DELETE")) {
            try S3Method(validating: name)
        }
    }

    /// Temporary credentials: no URL outlives the session, and none is signed after it ended.
    @Test func credentialExpiryBoundsTheURL() throws {
        var credentials = Self.credentials
        credentials.sessionToken = "token"
        credentials.expiresAt = Self.now + 3600
        let signer = try Self.signer(credentials)
        #expect(try signer.presign(Self.request { $0.expires = 3600 }, at: Self.now).expiresAt == Self.now + 3600)
        do {
            _ = try signer.presign(Self.request { $0.expires = 3601 }, at: Self.now)
            Issue.record("signed a URL that outlives the credentials")
        } catch {
            #expect(error.code == .expiryPastCredentials)
        }
        do {
            _ = try signer.presign(Self.request { $0.expires = 1 }, at: Self.now + 3600)
            Issue.record("signed with expired credentials")
        } catch {
            #expect(error.code == .credentialsExpired)
        }
    }

    @Test(arguments: [
        Credentials(accessKeyId: "", secretAccessKey: "s"), Credentials(accessKeyId: "AK/ID", secretAccessKey: "s"),
        Credentials(accessKeyId: "AKID", secretAccessKey: ""),
        Credentials(accessKeyId: "AKID", secretAccessKey: "s", sessionToken: ""),
    ])
    func refusesCredentials(_ credentials: Credentials) {
        #expect {
            _ = try Self.signer(credentials)
        } throws: { ($0 as? SigV4Error)?.code == .invalidCredentials }
    }

    @Test(arguments: [-1, 253_402_300_800])
    func refusesUnwritableTime(_ time: Int64) throws {
        #expect { _ = try Self.signer().presign(Self.request { _ in }, at: time) } throws: {
            ($0 as? SigV4Error)?.code == .invalidTime
        }
    }

    @Test(arguments: [
        "ftp://example.com", "http://", "http://user@host", "http://host:0", "http://host:70000", "http://host/a?b",
        "http://host/a b", "http://[::1", "http://ho_st", "example.com",
    ])
    func refusesEndpoint(_ url: String) {
        #expect { _ = try S3Endpoint(url: url, region: "us-east-1") } throws: {
            ($0 as? SigV4Error)?.code == .invalidEndpoint
        }
    }

    @Test(arguments: ["", "US-EAST-1", "us_east_1", "eu-west-1/x"])
    func refusesRegion(_ region: String) {
        #expect { _ = try S3Endpoint.aws(region: region) } throws: { ($0 as? SigV4Error)?.code == .invalidRegion }
    }

    @Test func endpointParsing() throws {
        let endpoint = try S3Endpoint(url: "http://[::1]:9000/s3/", region: "us-east-1")
        #expect(endpoint.host == "[::1]")
        #expect(endpoint.port == 9000)
        #expect(endpoint.basePath == "/s3")
        #expect(endpoint.hostHeader == "[::1]:9000")
        #expect(try S3Endpoint(url: "https://S3.Example.com:443", region: "us-east-1").hostHeader == "s3.example.com")
        #expect(
            try S3Endpoint(url: "https://s3.example.com:8443", region: "us-east-1").hostHeader == "s3.example.com:8443")
    }

    /// A URL's signed host is read back from the URL itself: for every awkward authority (upper
    /// case, an explicit default port, IPv6, a port ending in the default's digits, a base path,
    /// a virtual host) it is the endpoint's host header, after `bucket.` when virtual-hosted.
    @Test(arguments: [
        ("https://S3.Example.COM:443", "s3.example.com"), ("http://S3.Example.COM:80/base", "s3.example.com"),
        ("http://[::1]:80", "[::1]"), ("http://[::1]:8080/s3", "[::1]:8080"), ("https://host.test:80", "host.test:80"),
        ("http://host.test:443", "host.test:443"), ("https://host.test:1443", "host.test:1443"),
        ("http://127.0.0.1:9000", "127.0.0.1:9000"), ("https://host.test", "host.test"),
    ])
    func signedHostIsTheHostHeader(_ endpointURL: String, _ hostHeader: String) throws {
        let credentials = Credentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret")
        for addressing in [S3Endpoint.Addressing.path, .virtual] {
            let endpoint = try S3Endpoint(url: endpointURL, region: "us-east-1", addressing: addressing)
            #expect(endpoint.hostHeader == hostHeader)
            let url = try PresignSigner(credentials: credentials, endpoint: endpoint)
                .presign(PresignRequest(method: .get, bucket: "bucket", key: "a/b"), at: 1_700_000_000)
            let virtual = endpoint.usesVirtualHosting(bucket: "bucket")
            #expect(url.signedHost == (virtual ? "bucket." : "") + hostHeader, "\(endpointURL) \(addressing)")
        }
    }

    @Test func secretsNeverPrinted() {
        var credentials = Self.credentials
        credentials.sessionToken = "TOKEN-never-shown"
        let texts = [
            "\(credentials)", String(reflecting: credentials),
            "\(AccessKeySecret(secretAccessKey: "SECRET-never-shown", region: "r"))",
        ]
        var dumped = ""
        dump(credentials, to: &dumped)
        for text in texts + [dumped] {
            #expect(!text.contains("SECRET") && !text.contains("TOKEN"))
        }
    }

    /// The bucket name check's byte table against its rule, for every byte value.
    @Test func classTableMatchesTheRules() {
        for value in 0...255 {
            let byte = UInt8(value)
            let expected: UInt8 =
                BucketName.isLowerAlnum(byte) ? 1 : (byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-") ? 2 : 0)
            #expect(BucketName.classes[value] == expected, "byte \(value)")
        }
    }

    /// The constants for common header names agree with plain lower-casing, for those names in
    /// any case and for names one byte away from them.
    @Test func commonHeaderNamesLowercaseLikeAnyOther() {
        var names = ["Content-Type", "CONTENT-LENGTH", "content-md5", "Cache-Control", "x-amz-meta-Owner"]
        for base in ["content-type", "content-length", "content-md5", "cache-control"] {
            names.append(base.uppercased())
            for index in base.indices {
                for replacement in ["_", "^", "5", "X", "~"] {
                    var near = base
                    near.replaceSubrange(index...index, with: replacement)
                    names.append(near)
                }
            }
        }
        for name in names {
            #expect(CanonicalHeaders.lowercasedName(name) == name.lowercased(), "\(name)")
        }
    }

    /// The check that takes eight bytes at a time (names of 8 or more lowercase letters and digits)
    /// against the rules: every byte value at every position of such names of several lengths.
    @Test func bucketNamesCheckedEightAtATime() {
        for base in ["examplebu", "examplebucket9x", "a1b2c3d4e5f6g7h8", String(repeating: "b7", count: 31) + "c"] {
            for position in 0..<base.utf8.count {
                for value in 0...255 {
                    var bytes = Array(base.utf8)
                    bytes[position] = UInt8(value)
                    let byte = UInt8(value)
                    let inside = position > 0 && position < bytes.count - 1
                    let allowed =
                        BucketName.isLowerAlnum(byte)
                        || (inside && (byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")))
                    let name = String(decoding: bytes, as: UTF8.self)
                    let accepted = (try? BucketName.validate(name)) != nil
                    #expect(accepted == allowed, "byte \(value) at \(position) of \(base.utf8.count)")
                }
            }
        }
    }

    /// The fast paths of bucket validation (names of letters and digits, or with hyphens, eight
    /// bytes at a time; the reserved-affix screen) against every rule one byte at a time: the same
    /// verdict and reason for every byte value at every position of hyphenated names, and of
    /// names with each reserved prefix and suffix.
    @Test func bucketNameFastPathsAgreeWithTheRules() {
        var bases = ["my-bucket-name-1", "a-b-c-d-e", "photos-2024-ab", "data-lake-raw-zone-us-east-1-x"]
        bases += ["xn--bucket-one", "sthree-bucket", "amzn-s3-demo-bucket", "stored-files", "amazing-data"]
        bases += ["bucket-s3alias", "bucket--ol-s3", "bucket.mrap", "bucket--x-s3", "bucket--table-s3"]
        bases += ["assets-as", "my-bucket-s3", "the-map-ap", "a.b-c.d-e.f", "192-168-5-4x"]
        for base in bases {
            for position in 0..<base.utf8.count {
                for value in 0...255 {
                    var bytes = Array(base.utf8)
                    bytes[position] = UInt8(value)
                    let name = String(decoding: bytes, as: UTF8.self)
                    // Bytes that are not UTF-8 become U+FFFD: check the bytes the name really has.
                    let expected = Array(name.utf8).withUnsafeBufferPointer(BucketName.byRules)
                    var reason: String?
                    do { try BucketName.validate(name) } catch { reason = error.message }
                    #expect(reason == expected.map { "bucket name \($0)" }, "\(name)")
                }
            }
            let unchanged = Array(base.utf8).withUnsafeBufferPointer(BucketName.byRules)
            #expect(((try? BucketName.validate(base)) != nil) == (unchanged == nil), "\(base)")
        }
    }
}
