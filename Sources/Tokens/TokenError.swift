import Redis

/// Why a token operation was denied or failed. The code is the first word of the reply a client
/// gets (PROTOCOL.md, "Denials and errors"); gateways allow only on success and deny on any error.
package struct TokenError: Error, Sendable, CustomStringConvertible {
    /// A stable, matchable reason; the raw value is the protocol's code word.
    package enum Code: String, Sendable, Hashable, CaseIterable {
        /// No uses left.
        case used = "USED"
        /// The remaining uses are held by leases.
        case reserved = "RESERVED"
        /// Revoked by an admin.
        case revoked = "REVOKED"
        /// Past its expiry.
        case expired = "EXPIRED"
        /// Never issued here, gone, or (for a lease) not held any more.
        case unknown = "UNKNOWN"
        /// The method differs from the one the token was issued for.
        case mismatch = "MISMATCH"
        /// Redis did not answer, or refused to run the call: the outcome may be unknown. Deny.
        case unavailable = "UNAVAILABLE"
        /// A token with this id already exists.
        case exists = "EXISTS"
        /// A malformed argument; the message names it.
        case err = "ERR"
    }

    /// A stable, matchable reason.
    package var code: Code
    /// A message for people. It never holds a secret, a signature or a URL.
    package var message: String
    /// The error underneath, e.g. the `RedisClientError` behind `.unavailable`.
    package var underlying: (any Error)?

    package init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    /// The error for a Redis error reply. The Function library answers denials as `<CODE> <message>`;
    /// any other reply (`OOM`, `READONLY`, `NOREPLICAS`, `BUSY`, …) means Redis did not run the rule,
    /// so the token is unavailable, never allowed.
    ///
    /// A command Redis refused inside a Function (`ERR user_function:20: … can't run this command`,
    /// an ACL without a command the rule needs) is Redis's error, not the library's `ERR`: also
    /// unavailable, so that it is alerted on as Redis trouble and never read as a malformed request.
    init(redisReply reply: String) {
        let word = reply.prefix { $0 != " " }
        let rest = reply.dropFirst(word.count).drop { $0 == " " }
        let raisedByRedis =
            word == "ERR" && (rest.hasPrefix("user_function:") || rest.hasPrefix("Error running script"))
        if let code = Code(rawValue: String(word)), code != .unavailable, !raisedByRedis {
            self.init(code, String(rest))
        } else {
            self.init(.unavailable, "Redis refused the call: \(reply)")
        }
    }

    package var description: String { "\(code.rawValue) \(message)" }
}

extension TokenError {
    /// The error for a command Redis did not answer (of any kind, including an unknown outcome):
    /// the client's own words for why, without repeating its code.
    static func unanswered(_ error: any Error) -> TokenError {
        let why = (error as? RedisClientError)?.message ?? "\(error)"
        return TokenError(.unavailable, "Redis did not answer: \(why)", underlying: error)
    }
}
