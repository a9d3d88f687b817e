#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The signed-header rules shared by the signer and the verifier (SPEC §2.4).
enum CanonicalHeaders {
    /// Headers botocore never signs (its blacklist), plus those a presigned URL cannot carry:
    /// `host` is always signed from the endpoint, `authorization` would be a second auth method.
    static func isUnsignable(_ lowercaseName: UnsafeBufferPointer<UInt8>) -> Bool {
        func isName(_ text: StaticString) -> Bool {
            memcmp(text.utf8Start, lowercaseName.baseAddress!, lowercaseName.count) == 0
        }
        // By length first: most names signed (content-type, x-amz-meta-…) match no length here.
        switch lowercaseName.count {
        case 4: return isName("host")
        case 6: return isName("expect")
        case 10: return isName("user-agent") || isName("connection")
        case 13: return isName("authorization")
        case 15: return isName("x-amzn-trace-id")
        case 17: return isName("transfer-encoding")
        default: return false
        }
    }

    /// `text` with ASCII letters in lower case (other bytes as they are: header names and hosts);
    /// the same String when it has no upper-case letter.
    static func lowercased(_ text: String) -> String {
        text.utf8.withContiguousBytes { bytes in
            guard bytes.contains(where: isUpper) else { return text }
            return String(unsafeUninitializedCapacity: bytes.count) { out in
                for (index, byte) in bytes.enumerated() { out[index] = lowercased(byte) }
                return bytes.count
            }
        }
    }

    /// The lowercase form of a header name (already checked to be a token), as `lowercased`, with
    /// the names SDKs sign most (`Content-Type`, `Content-Length`…) given as constants, so that
    /// the usual request makes no new string.
    static func lowercasedName(_ name: String) -> String {
        let common: String? = name.utf8.withContiguousBytes { bytes in
            switch bytes.count {
            case 12 where matches(bytes, "content-type"): "content-type"
            case 14 where matches(bytes, "content-length"): "content-length"
            case 11 where matches(bytes, "content-md5"): "content-md5"
            case 13 where matches(bytes, "cache-control"): "cache-control"
            default: nil
            }
        }
        return common ?? lowercased(name)
    }

    /// Whether token bytes spell `lowercase` in any case. Setting 0x20 lowers a letter; for the
    /// `-` and digits of these names it also matches only bytes that are not token characters.
    @inline(__always)
    private static func matches(_ bytes: UnsafeBufferPointer<UInt8>, _ lowercase: StaticString) -> Bool {
        for index in 0..<bytes.count where bytes[index] | 0x20 != lowercase.utf8Start[index] { return false }
        return true
    }

    /// An ASCII letter in lower case; any other byte as it is.
    @inline(__always)
    static func lowercased(_ byte: UInt8) -> UInt8 { isUpper(byte) ? byte | 0x20 : byte }

    @inline(__always)
    private static func isUpper(_ byte: UInt8) -> Bool { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) }

    /// What a header name is (`lowercaseToken`).
    enum NameKind {
        /// Not an RFC 9110 token: not a header name.
        case notToken
        /// A token with a character URI encoding changes (`!#$%&'*+^` `` ` `` `|`).
        case token
        /// A token of letters, digits and `-._~` only: its own URI encoding.
        case unreserved
    }

    /// Writes `name` in lower case to `out` (`name.count` bytes) and says what kind of name it is
    /// (what it wrote is meaningless for `notToken`). Names of letters, digits and `-` (nearly
    /// all) take eight bytes at a time, the last eight overlapping the previous ones.
    static func lowercaseToken(_ name: UnsafeBufferPointer<UInt8>, to out: UnsafeMutablePointer<UInt8>) -> NameKind {
        guard let source = name.baseAddress, !name.isEmpty else { return .notToken }
        if name.count >= 8 {
            var offset = 0
            while true {
                let at = min(offset, name.count &- 8)
                let lanes = ByteLanes.load(source + at)
                guard ByteLanes.allASCII(lanes) else { break }
                let usual =
                    ByteLanes.letters(lanes) | ByteLanes.within(UInt8(ascii: "0"), UInt8(ascii: "9"), lanes)
                    | ByteLanes.equal(UInt8(ascii: "-"), lanes)
                guard usual == ByteLanes.high else { break }
                // An upper-case lane's 0x80 moved to 0x20 is what lowers it.
                let upper = ByteLanes.within(UInt8(ascii: "A"), UInt8(ascii: "Z"), lanes)
                ByteLanes.store(lanes | upper &>> 2, to: out + at)
                offset &+= 8
                if offset >= name.count { return .unreserved }
            }
        }
        var unreserved = true
        for index in 0..<name.count {
            let byte = name[index]
            guard isTokenByte(byte) else { return .notToken }
            unreserved = unreserved && URIEncoding.isKept(byte, keepSlash: false)
            out[index] = lowercased(byte)
        }
        return unreserved ? .unreserved : .token
    }

    /// An RFC 9110 token character.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default: false
        }
    }

    /// Header values must be visible ASCII, spaces and tabs: S3 requires US-ASCII for user
    /// metadata over REST, and control characters (CR, LF, …) could split the HTTP request.
    static func isValidValue(_ value: UnsafeBufferPointer<UInt8>) -> Bool {
        let lanes = ByteLanes.all(value) { lanes in
            guard ByteLanes.allASCII(lanes) else { return 0 }
            return ByteLanes.within(0x20, 0x7E, lanes) | ByteLanes.equal(0x09, lanes)
        }
        return lanes ?? value.allSatisfy { ($0 >= 0x20 && $0 < 0x7F) || $0 == 0x09 }
    }

    /// Whether a (valid) value has a space or a tab, which its canonical form may change.
    static func hasWhitespace(_ value: UnsafeBufferPointer<UInt8>) -> Bool {
        let none = ByteLanes.all(value) { lanes in
            ~(ByteLanes.equal(UInt8(ascii: " "), lanes) | ByteLanes.equal(0x09, lanes)) & ByteLanes.high
        }
        return !(none ?? !value.contains { $0 == UInt8(ascii: " ") || $0 == 0x09 })
    }

    /// The canonical value: trimmed, with each run of spaces and tabs collapsed to one space
    /// (botocore: `' '.join(value.split())`).
    static func canonicalValue(_ value: String) -> [UInt8] {
        value.utf8.withContiguousBytes { value in
            [UInt8](unsafeUninitializedCapacity: value.count) { buffer, count in
                var out = ByteWriter(buffer)
                out.appendCanonicalHeaderValue(value)
                count = out.count
            }
        }
    }
}
