/// Where URLs point and what they are signed for: scheme, host, port, base path, region, and the
/// addressing style (SPEC §2.3).
package struct S3Endpoint: Sendable, Equatable {
    /// http or https; decides the default port dropped from the signed host.
    package enum Scheme: String, Sendable, CaseIterable {
        case http, https

        var defaultPort: Int { self == .http ? 80 : 443 }
    }

    /// How the bucket appears in the URL. `auto` means virtual-hosted on AWS endpoints and path
    /// style on custom endpoints (botocore: ForcePathStyle = style != virtual for a custom
    /// endpoint_url). Whatever is asked for, buckets that are not one DNS label and IP-literal
    /// endpoints use path style.
    package enum Addressing: String, Sendable, CaseIterable {
        case auto, path, virtual
    }

    package let scheme: Scheme
    /// The host as written in URLs (case kept; an IPv6 literal keeps its brackets).
    package let host: String
    /// An explicit port; it stays in URLs even when it is the scheme's default.
    package let port: Int?
    /// A path prefix in front of `/bucket` (path style) or `/key`, without a trailing slash; "" for none.
    package let basePath: String
    /// The region of the credential scope.
    package let region: String
    package let addressing: Addressing
    /// True for the endpoints `aws(region:)` builds; `auto` addressing then means virtual-hosted.
    package let isAWS: Bool

    /// A custom (S3-compatible) endpoint.
    package init(
        scheme: Scheme, host: String, port: Int? = nil, basePath: String = "", region: String,
        addressing: Addressing = .auto
    ) throws(SigV4Error) {
        try self.init(
            scheme: scheme, host: host, port: port, basePath: basePath, region: region, addressing: addressing,
            isAWS: false)
    }

    private init(
        scheme: Scheme, host: String, port: Int?, basePath: String, region: String, addressing: Addressing,
        isAWS: Bool
    ) throws(SigV4Error) {
        try Self.validateRegion(region)
        guard Self.isValidHost(host) else {
            throw SigV4Error(
                .invalidEndpoint, "endpoint host must be a DNS name, an IPv4 address or a bracketed IPv6 address")
        }
        if let port, !(1...65_535).contains(port) {
            throw SigV4Error(.invalidEndpoint, "endpoint port must be 1..65535")
        }
        var path = basePath
        while path.hasSuffix("/") { path.removeLast() }
        guard path.isEmpty || (path.hasPrefix("/") && Self.isValidBasePath(path)) else {
            throw SigV4Error(
                .invalidEndpoint,
                "endpoint base path must start with '/' and contain only unreserved characters, '/' and %XX escapes")
        }
        self.scheme = scheme
        self.host = host
        self.port = port
        self.basePath = path
        self.region = region
        self.addressing = addressing
        self.isAWS = isAWS
        isIPLiteral = host.hasPrefix("[") || BucketName.isIPv4Shaped(host.utf8)
    }

    /// Parses `scheme://host[:port][/base/path]`, for example `http://127.0.0.1:9000/s3` or
    /// `http://[::1]:9000`. No user info, query or fragment.
    package init(url: String, region: String, addressing: Addressing = .auto) throws(SigV4Error) {
        let invalid = SigV4Error(.invalidEndpoint, "endpoint URL must look like http(s)://host[:port][/base/path]")
        guard let schemeEnd = url.firstRange(of: "://"),
            let scheme = Scheme(rawValue: url[..<schemeEnd.lowerBound].lowercased())
        else { throw invalid }
        let rest = url[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" }
        let path = String(rest[authority.endIndex...])
        guard !path.contains("?"), !path.contains("#"), !authority.contains("@") else { throw invalid }
        var host = Substring(authority)
        var port: Int?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw invalid }
            host = authority[...close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let value = Int(after.dropFirst()) else { throw invalid }
                port = value
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let value = Int(authority[authority.index(after: colon)...]) else { throw invalid }
            port = value
        }
        try self.init(
            scheme: scheme, host: String(host), port: port, basePath: path, region: region, addressing: addressing)
    }

    /// The AWS endpoint botocore resolves for `region` without an endpoint_url: `s3.{region}.{domain}`
    /// (`amazonaws.com`, or the partition's own: `dnsSuffix`),
    /// and for us-east-1 the legacy global `s3.amazonaws.com` (botocore's default
    /// `us_east_1_regional_endpoint=legacy`) unless `usEast1Regional` is set. Always https.
    package static func aws(region: String, addressing: Addressing = .auto, usEast1Regional: Bool = false)
        throws(SigV4Error) -> S3Endpoint
    {
        try validateRegion(region)
        guard region != "aws-global" else {
            throw SigV4Error(.invalidRegion, "aws-global is not a signing region: use us-east-1")
        }
        let suffix = dnsSuffix(region: region)
        let host = region == "us-east-1" && !usEast1Regional ? "s3.amazonaws.com" : "s3.\(region).\(suffix)"
        return try S3Endpoint(
            scheme: .https, host: host, port: nil, basePath: "", region: region, addressing: addressing, isAWS: true)
    }

    /// The domain of the AWS partition `region` belongs to, as botocore's partition table has it
    /// (by region prefix): China, the isolated partitions and the European Sovereign Cloud have
    /// their own; every other region is under `amazonaws.com`.
    static func dnsSuffix(region: String) -> String {
        let partitions: [(prefix: String, suffix: String)] = [
            ("cn-", "amazonaws.com.cn"), ("us-isob-", "sc2s.sgov.gov"), ("us-isof-", "csp.hci.ic.gov"),
            ("us-iso-", "c2s.ic.gov"), ("eu-isoe-", "cloud.adc-e.uk"), ("eusc-", "amazonaws.eu"),
        ]
        return partitions.first { region.hasPrefix($0.prefix) }?.suffix ?? "amazonaws.com"
    }

    /// The canonical `host` header value (SPEC §2.3, botocore `_host_from_url`): the host in lower
    /// case, with `:port` only when the port is not the scheme's default.
    package var hostHeader: String {
        let name = host.lowercased()
        guard let port, port != scheme.defaultPort else { return name }
        return "\(name):\(port)"
    }

    /// The host and port as they appear in URLs (an explicit default port is kept, like botocore).
    package var urlAuthority: String {
        guard let port else { return host }
        return "\(host):\(port)"
    }

    /// Whether `bucket` goes in the host name rather than the path (SPEC §2.3).
    package func usesVirtualHosting(bucket: String) -> Bool {
        switch addressing {
        case .path: return false
        case .auto where !isAWS: return false
        case .auto, .virtual: return !isIPLiteral && BucketName.isVirtualHostable(bucket)
        }
    }

    /// An IPv6 literal, or four decimal groups (an IPv4 address).
    let isIPLiteral: Bool

    static func validateRegion(_ region: String) throws(SigV4Error) {
        guard (1...63).contains(region.utf8.count),
            region.utf8.allSatisfy({ BucketName.isLowerAlnum($0) || $0 == UInt8(ascii: "-") })
        else {
            throw SigV4Error(.invalidRegion, "region must be 1..63 lowercase letters, digits and hyphens")
        }
    }

    private static func isValidHost(_ host: String) -> Bool {
        let bytes = Array(host.utf8)
        guard !bytes.isEmpty, bytes.count <= 253 else { return false }
        if bytes.first == UInt8(ascii: "[") {
            guard bytes.count > 2, bytes.last == UInt8(ascii: "]") else { return false }
            return bytes.dropFirst().dropLast().allSatisfy {
                Hex.value(of: $0) != nil || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".")
            }
        }
        return bytes.allSatisfy {
            BucketName.isLowerAlnum($0) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0)
                || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
        }
    }

    private static func isValidBasePath(_ path: String) -> Bool {
        let bytes = Array(path.utf8)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.count, Hex.value(of: bytes[index + 1]) != nil,
                    Hex.value(of: bytes[index + 2]) != nil
                else { return false }
                index += 3
                continue
            }
            guard URIEncoding.isKept(byte, keepSlash: true) else { return false }
            index += 1
        }
        return true
    }
}
