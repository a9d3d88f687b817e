import Wire

/// Why a command failed: `code` is the stable first word of the error reply (PROTOCOL.md
/// "Denials and errors"), `message` is for people and never holds a secret, signature or URL.
package struct BrokerError: Error, Sendable, Equatable, CustomStringConvertible {
    package struct Code: RawRepresentable, Sendable, Hashable {
        package let rawValue: String
        package init(rawValue: String) { self.rawValue = rawValue }

        package static let used = Code(rawValue: "USED")
        package static let reserved = Code(rawValue: "RESERVED")
        package static let revoked = Code(rawValue: "REVOKED")
        package static let expired = Code(rawValue: "EXPIRED")
        package static let unknown = Code(rawValue: "UNKNOWN")
        package static let mismatch = Code(rawValue: "MISMATCH")
        package static let badSignature = Code(rawValue: "BADSIG")
        package static let noAuth = Code(rawValue: "NOAUTH")
        package static let wrongPass = Code(rawValue: "WRONGPASS")
        package static let noPerm = Code(rawValue: "NOPERM")
        package static let unavailable = Code(rawValue: "UNAVAILABLE")
        package static let err = Code(rawValue: "ERR")
        /// REPLAY cannot tell what came after the given event: the caller must start over.
        package static let resync = Code(rawValue: "RESYNC")
        /// EXEC of a transaction that was refused (presignd has none), as Redis answers it.
        package static let execAbort = Code(rawValue: "EXECABORT")
    }

    package var code: Code
    package var message: String
    /// The token and object of a URL whose signature verified but that is refused anyway
    /// (EXPIRED, MISMATCH), for the audit line; never part of the reply.
    var subject: ResolvedTarget?

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    init(_ code: Code, _ message: String, subject: ResolvedTarget) {
        self.init(code, message)
        self.subject = subject
    }

    package var description: String { "\(code.rawValue) \(message)" }

    /// The one place an error becomes a reply.
    package var reply: Reply { .error(code: code.rawValue, message: message) }
}
