/// Why a presign request was refused. `code` is stable (match on it); `message` is for people and
/// names the problem, never a secret, a signature or an object key's bytes.
package struct SigV4Error: Error, Equatable, CustomStringConvertible {
    /// Stable reasons a request cannot be signed.
    package enum Code: String, Sendable, CaseIterable {
        case invalidMethod = "invalid_method"
        case invalidExpiry = "invalid_expiry"
        case credentialsExpired = "credentials_expired"
        case expiryPastCredentials = "expiry_past_credentials"
        case invalidKey = "invalid_key"
        case invalidBucket = "invalid_bucket"
        case invalidHeader = "invalid_header"
        case invalidQueryParameter = "invalid_query_parameter"
        case invalidEndpoint = "invalid_endpoint"
        case invalidRegion = "invalid_region"
        case invalidCredentials = "invalid_credentials"
        case invalidTime = "invalid_time"
    }

    /// Stable; match on it.
    package let code: Code
    /// For people: names the problem, never a secret, signature or key.
    package let message: String

    /// An error with its code and message.
    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { "\(code.rawValue): \(message)" }
}
