/// What a command acts on: a token id, or a URL whose id is derived from its signature.
enum Target: Sendable {
    case id(String)
    case url(String)

    init(_ text: String) throws(BrokerError) {
        if text.hasPrefix("/") || text.contains("://") {
            self = .url(text)
        } else if Self.isTokenId(text) {
            self = .id(text)
        } else {
            throw BrokerError(.err, "target must be a token id (22 base64url characters) or a URL")
        }
    }

    /// PROTOCOL.md: 22 characters of unpadded base64url.
    static func isTokenId(_ text: String) -> Bool {
        text.utf8.count == 22
            && text.utf8.allSatisfy { byte in
                (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39)
                    || byte == 0x2d || byte == 0x5f
            }
    }
}
