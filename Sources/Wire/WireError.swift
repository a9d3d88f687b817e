/// A request that cannot be decoded: malformed framing or a limit exceeded.
///
/// The connection's framing can no longer be trusted after any of these, so the caller answers
/// `-ERR <message>` and closes the connection. ``message`` is worded like Redis's own protocol errors
/// (`Protocol error: invalid bulk length`) and never contains request bytes beyond one printable
/// character, so it is safe to send to the client and to log.
package struct WireError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, stable and matchable; ``message`` carries the details for people.
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case invalidMultibulkLength = "invalid-multibulk-length"
            case invalidBulkLength = "invalid-bulk-length"
            case lengthLineTooLong = "length-line-too-long"
            case expectedBulk = "expected-bulk"
            case missingBulkTerminator = "missing-bulk-terminator"
            case unbalancedQuotes = "unbalanced-quotes"
            case nulInInline = "nul-in-inline"
            case inlineTooLong = "inline-too-long"
            case bulkTooLong = "bulk-too-long"
            case tooManyArguments = "too-many-arguments"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// `*<n>` where `<n>` is not a decimal integer, or is negative other than `-1`.
        package static let invalidMultibulkLength = Code(.invalidMultibulkLength)
        /// `$<n>` where `<n>` is not a non-negative decimal integer.
        package static let invalidBulkLength = Code(.invalidBulkLength)
        /// A `*` or `$` header line that runs on without its `\r\n`.
        package static let lengthLineTooLong = Code(.lengthLineTooLong)
        /// A multibulk request whose next argument does not start with `$`.
        package static let expectedBulk = Code(.expectedBulk)
        /// Bulk data not followed by `\r\n`.
        package static let missingBulkTerminator = Code(.missingBulkTerminator)
        /// An inline command with an unterminated quote, or a closing quote followed by a non-space.
        package static let unbalancedQuotes = Code(.unbalancedQuotes)
        /// An inline command line holding a NUL byte (send binary arguments as RESP, or as `"\x00"`).
        package static let nulInInline = Code(.nulInInline)
        /// An inline command line longer than ``WireLimits/maxInlineBytes``.
        package static let inlineTooLong = Code(.inlineTooLong)
        /// A bulk string longer than ``WireLimits/maxBulkBytes``.
        package static let bulkTooLong = Code(.bulkTooLong)
        /// A request with more than ``WireLimits/maxArguments`` arguments.
        package static let tooManyArguments = Code(.tooManyArguments)

        package var description: String { self.base.rawValue }
    }

    /// Stable code to match on.
    package let code: Code
    /// A message for people, starting with `Protocol error:` like Redis's.
    package let message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { self.message }
}

extension WireError {
    static func limit(_ code: Code, what: String, value: Int, limitName: String, limit: Int) -> WireError {
        WireError(code, "Protocol error: \(what) \(value) exceeds \(limitName) (\(limit))")
    }

    static func expectedBulk(got byte: UInt8) -> WireError {
        // Redis prints the offending character; a control or non-ASCII byte is shown as \xHH so the
        // message stays one clean line.
        let shown: String
        if byte >= 0x20 && byte < 0x7F {
            shown = String(UnicodeScalar(byte))
        } else {
            let hex = String(byte, radix: 16)
            shown = "\\x" + (hex.count == 1 ? "0" + hex : hex)
        }
        return WireError(.expectedBulk, "Protocol error: expected '$', got '\(shown)'")
    }
}
