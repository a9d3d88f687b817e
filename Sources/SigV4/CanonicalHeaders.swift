/// The signed-header rules shared by the signer and the verifier (SPEC §2.4).
enum CanonicalHeaders {
    /// Headers botocore never signs (its blacklist), plus those a presigned URL cannot carry:
    /// `host` is always signed from the endpoint, `authorization` would be a second auth method.
    static let unsignable: Set<String> = [
        "host", "authorization", "user-agent", "expect", "transfer-encoding", "connection", "x-amzn-trace-id",
    ]

    /// An RFC 9110 token character (what a header name may contain).
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default: "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    /// Header values must be visible ASCII, spaces and tabs: S3 requires US-ASCII for user
    /// metadata over REST, and control characters (CR, LF, …) could split the HTTP request.
    static func isValidValue(_ value: some Sequence<UInt8>) -> Bool {
        value.allSatisfy { ($0 >= 0x20 && $0 < 0x7F) || $0 == 0x09 }
    }

    /// The canonical value: trimmed, with each run of spaces and tabs collapsed to one space
    /// (botocore: `' '.join(value.split())`).
    static func canonicalValue(_ value: some Sequence<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        var pendingSpace = false
        for byte in value {
            if byte == UInt8(ascii: " ") || byte == 0x09 {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace {
                out.append(UInt8(ascii: " "))
                pendingSpace = false
            }
            out.append(byte)
        }
        return out
    }

    static func lowercased(_ name: some Sequence<UInt8>) -> [UInt8] {
        name.map { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) ? $0 | 0x20 : $0 }
    }
}
