import Tokens

/// What a command acts on: a token id, or a URL whose id is derived from its signature.
enum Target: Sendable {
    case id(String)
    case url(String)

    init(_ text: String) throws(BrokerError) {
        if text.hasPrefix("/") || text.contains("://") {
            self = .url(text)
        } else if TokenKeyspace.isTokenID(text) {
            self = .id(text)
        } else {
            throw BrokerError(.err, "target must be a token id (22 base64url characters) or a URL")
        }
    }
}
