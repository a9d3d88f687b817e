#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// S3 bucket naming rules, checked over the UTF-8 bytes in one pass (this runs on every presign).
package enum BucketName {
    /// Checks S3's rules for new buckets (general purpose buckets): 3..63 characters of lowercase
    /// letters, digits, dots and hyphens; starts and ends with a letter or digit; no `..`; not
    /// shaped like an IPv4 address; none of the prefixes and suffixes S3 reserves.
    package static func validate(_ name: String) throws(SigV4Error) {
        if let reason = name.utf8.withContiguousBytes(problem) {
            throw SigV4Error(.invalidBucket, "bucket name \(reason)")
        }
    }

    private static let reservedPrefixes: [StaticString] = ["xn--", "sthree-", "amzn-s3-demo-"]
    private static let reservedSuffixes: [StaticString] = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"]

    /// For each byte value: `alnum` (1) for a-z and 0-9, `punctuation` (2) for `.` and `-`, 0 for
    /// every byte a bucket name may not contain. One table lookup per byte, no branch; a literal,
    /// laid out at compile time. `classTableMatchesTheRules` checks it.
    static let classes: [UInt8] = [
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // 0x00
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // 0x10
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 0,  // 0x20
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,  // 0x30
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // 0x40
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // 0x50
        0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  // 0x60
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,  // 0x70
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // 0x80
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // 0x90
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // 0xA0
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // 0xB0
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // 0xC0
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // 0xD0
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // 0xE0
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // 0xF0
    ]
    private static let alnum: UInt8 = 1
    private static let punctuation: UInt8 = 2

    /// What is wrong with the name, or nil. Names of lowercase letters and digits, and hyphens,
    /// eight or more bytes long (most names), are told apart eight bytes at a time and need only
    /// the checks their hyphens can fail; the others go through every rule (`byRules`).
    private static func problem(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard (3...63).contains(bytes.count) else { return "must be 3 to 63 characters long" }
        switch lowerAlnumAndHyphens(bytes) {
        case .some(false):
            // Letters and digits alone make every other rule hold.
            return nil
        case .some(true):
            // No dot: no `..`, no IP address shape, no `.mrap`.
            guard isLowerAlnum(bytes.first!), isLowerAlnum(bytes.last!) else {
                return "must start and end with a letter or a digit"
            }
            return mayHaveReservedAffix(bytes) ? reservedAffix(bytes) : nil
        case .none:
            return byRules(bytes)
        }
    }

    /// Every rule, one byte at a time: what the faster paths of `problem` must agree with.
    static func byRules(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard (3...63).contains(bytes.count) else { return "must be 3 to 63 characters long" }
        let (all, lowest, first, last) = classes.withUnsafeBufferPointer { classes in
            var all: UInt8 = 0
            var lowest = UInt8.max
            for byte in bytes {
                let kind = classes[Int(byte)]
                all |= kind
                lowest = min(lowest, kind)
            }
            return (all, lowest, classes[Int(bytes.first!)], classes[Int(bytes.last!)])
        }
        guard lowest != 0 else { return "may contain only lowercase letters, digits, dots and hyphens" }
        guard first == alnum, last == alnum else { return "must start and end with a letter or a digit" }
        // Every rule below needs a dot or a hyphen, as does each reserved prefix and suffix.
        guard all & punctuation != 0 else { return nil }
        var previous: UInt8 = 0
        for byte in bytes {
            if byte == UInt8(ascii: "."), previous == UInt8(ascii: ".") { return "must not contain two adjacent dots" }
            previous = byte
        }
        if isIPv4Shaped(bytes) { return "must not be formatted as an IP address" }
        return reservedAffix(bytes)
    }

    /// The reserved prefix or suffix the name has, as a problem, or nil.
    private static func reservedAffix(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        for prefix in reservedPrefixes where matches(prefix, bytes, at: 0) {
            return "must not start with the reserved prefix \(prefix)"
        }
        for suffix in reservedSuffixes where matches(suffix, bytes, at: bytes.count - suffix.utf8CodeUnitCount) {
            return "must not end with the reserved suffix \(suffix)"
        }
        return nil
    }

    /// Whether the name starts or ends with the first or last two bytes of a reserved prefix or
    /// suffix (`xn`, `st`, `am`; `as`, `s3`, `ap`): a screen that spares most names the
    /// comparisons. `problem` and `byRules` agreeing on names with each affix shows it misses none.
    @inline(__always)
    private static func mayHaveReservedAffix(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        func pair(_ high: Unicode.Scalar, _ low: Unicode.Scalar) -> UInt16 {
            UInt16(UInt8(ascii: high)) << 8 | UInt16(UInt8(ascii: low))
        }
        let head = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        let tail = UInt16(bytes[bytes.count - 2]) << 8 | UInt16(bytes[bytes.count - 1])
        return head == pair("x", "n") || head == pair("s", "t") || head == pair("a", "m")
            || tail == pair("a", "s") || tail == pair("s", "3") || tail == pair("a", "p")
    }

    /// For names of at least 8 bytes of lowercase letters, digits and hyphens only, whether there is
    /// a hyphen; nil for any other name.
    @inline(__always)
    private static func lowerAlnumAndHyphens(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool? {
        var hyphens: UInt64 = 0
        let plain = ByteLanes.all(bytes) { lanes in
            guard ByteLanes.allASCII(lanes) else { return 0 }
            let hyphen = ByteLanes.equal(UInt8(ascii: "-"), lanes)
            hyphens |= hyphen
            return ByteLanes.within(UInt8(ascii: "a"), UInt8(ascii: "z"), lanes)
                | ByteLanes.within(UInt8(ascii: "0"), UInt8(ascii: "9"), lanes) | hyphen
        }
        return plain == true ? hyphens != 0 : nil
    }

    /// Whether `affix` is in `bytes` at `offset` (false when it would not fit there).
    @inline(__always)
    private static func matches(_ affix: StaticString, _ bytes: UnsafeBufferPointer<UInt8>, at offset: Int) -> Bool {
        let count = affix.utf8CodeUnitCount
        // The first byte rules out nearly every bucket before the call.
        guard offset >= 0, offset + count <= bytes.count, bytes[offset] == affix.utf8Start.pointee else { return false }
        return memcmp(bytes.baseAddress! + offset, affix.utf8Start, count) == 0
    }

    /// Whether the bucket can be the first label of a virtual host (SPEC §2.3, botocore's rule):
    /// one DNS label, so no dots. Every other part of that rule is already implied by `validate`.
    static func isVirtualHostable(_ name: String) -> Bool {
        !name.utf8.contains(UInt8(ascii: "."))
    }

    @inline(__always)
    static func isLowerAlnum(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    /// Four dot-separated groups of one to three decimal digits, as S3 refuses ("192.168.5.4").
    static func isIPv4Shaped(_ bytes: some Collection<UInt8>) -> Bool {
        var groups = 1
        var digits = 0
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                guard digits > 0 else { return false }
                groups += 1
                digits = 0
            } else if (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                digits += 1
                guard digits <= 3 else { return false }
            } else {
                return false
            }
        }
        return groups == 4 && digits > 0
    }
}
