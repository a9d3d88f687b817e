/// Why a presignctl command did not succeed: a denial or error reply from presignd, or a failure
/// to reach it. It carries the exit status and what to tell the user, never the secret.
package struct AdminFailure: Error, Sendable, Equatable {
    /// The stable code: presignd's (`USED`, `ERR`, `RESYNC`, …) or presignctl's own (`CONNECT`, `USAGE`, `REPLY`).
    package var code: String
    /// A message for people.
    package var message: String
    /// The exit status it leads to.
    package var status: AdminExitStatus

    package init(code: String, message: String, status: AdminExitStatus) {
        self.code = code
        self.message = message
        self.status = status
    }

    /// The failure for an error reply such as `USED no uses left`.
    package init(errorReply: String) {
        let code = Self.code(ofErrorReply: errorReply)
        self.init(code: code, message: errorReply, status: AdminExitStatus.forErrorReply(errorReply))
    }

    /// The first word of an error reply, which presignd keeps stable.
    package static func code(ofErrorReply message: String) -> String {
        String(message.prefix { $0 != " " })
    }

    /// A reply of a shape the command does not expect.
    static func unexpectedReply(to command: String) -> AdminFailure {
        AdminFailure(code: "REPLY", message: "unexpected reply to \(command)", status: .error)
    }
}
