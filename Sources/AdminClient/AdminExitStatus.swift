/// presignctl's exit codes, stable for scripts.
package enum AdminExitStatus: Int32, Sendable {
    /// The command succeeded (a use was allowed, a token revoked, …).
    case ok = 0
    /// presignd answered with a denial (`USED`, `REVOKED`, `NOPERM`, …).
    case denied = 1
    /// Anything else: bad usage, no connection, `UNAVAILABLE`, `ERR`.
    case error = 2

    /// The error codes presignd uses for denials (PROTOCOL.md, "Denials and errors"); every other
    /// error reply is an error.
    package static let denialCodes: Set<String> = [
        "USED", "RESERVED", "REVOKED", "EXPIRED", "UNKNOWN", "MISMATCH", "BADSIG", "NOAUTH", "WRONGPASS", "NOPERM",
    ]

    /// The status for an error reply, judged by its first word.
    package static func forErrorReply(_ message: String) -> AdminExitStatus {
        denialCodes.contains(AdminFailure.code(ofErrorReply: message)) ? .denied : .error
    }
}
