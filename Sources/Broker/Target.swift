import Tokens

/// What a command acts on: a token id, or a URL whose id is derived from its signature.
enum Target: Sendable {
    case id(String)
    case url(String)

    init(_ text: String) throws(BrokerError) {
        // The id test first: it is the common case, and a 22-character base64url string can hold
        // neither '/' nor "://". (String.contains(String) is a generic search, slow on this path.)
        if TokenKeyspace.isTokenID(text) {
            self = .id(text)
        } else if text.hasPrefix("/") || Self.hasScheme(text) {
            self = .url(text)
        } else {
            throw BrokerError(.err, "target must be a token id (22 base64url characters) or a URL")
        }
    }

    /// Whether `text` holds "://".
    private static func hasScheme(_ text: String) -> Bool {
        let bytes = text.utf8
        var index = bytes.startIndex
        var matched = 0
        while index != bytes.endIndex {
            switch (matched, bytes[index]) {
            case (0, UInt8(ascii: ":")): matched = 1
            case (1, UInt8(ascii: "/")): matched = 2
            case (2, UInt8(ascii: "/")): return true
            case (_, UInt8(ascii: ":")): matched = 1
            default: matched = 0
            }
            index = bytes.index(after: index)
        }
        return false
    }
}
