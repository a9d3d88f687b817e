/// S3 bucket naming rules.
enum BucketName {
    /// Checks S3's rules for new buckets (general purpose buckets): 3..63 characters of lowercase
    /// letters, digits, dots and hyphens; starts and ends with a letter or digit; no `..`; not
    /// shaped like an IPv4 address; none of the prefixes and suffixes S3 reserves.
    static func validate(_ name: String) throws(SigV4Error) {
        let bytes = Array(name.utf8)
        func fail(_ reason: String) -> SigV4Error { SigV4Error(.invalidBucket, "bucket name \(reason)") }
        guard (3...63).contains(bytes.count) else { throw fail("must be 3 to 63 characters long") }
        guard bytes.allSatisfy({ isLowerAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }) else {
            throw fail("may contain only lowercase letters, digits, dots and hyphens")
        }
        guard isLowerAlnum(bytes.first!), isLowerAlnum(bytes.last!) else {
            throw fail("must start and end with a letter or a digit")
        }
        guard !name.contains("..") else { throw fail("must not contain two adjacent dots") }
        guard !isIPv4Shaped(bytes) else { throw fail("must not be formatted as an IP address") }
        for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] where name.hasPrefix(prefix) {
            throw fail("must not start with the reserved prefix \(prefix)")
        }
        for suffix in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] where name.hasSuffix(suffix) {
            throw fail("must not end with the reserved suffix \(suffix)")
        }
    }

    /// Whether the bucket can be the first label of a virtual host (SPEC §2.3, botocore's rule):
    /// one DNS label, so no dots. Every other part of that rule is already implied by `validate`.
    static func isVirtualHostable(_ name: String) -> Bool {
        !name.utf8.contains(UInt8(ascii: "."))
    }

    static func isLowerAlnum(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    /// Four dot-separated groups of decimal digits, as S3 refuses ("192.168.5.4").
    static func isIPv4Shaped(_ bytes: [UInt8]) -> Bool {
        let groups = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return groups.count == 4
            && groups.allSatisfy { group in
                !group.isEmpty && group.count <= 3 && group.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
            }
    }
}
