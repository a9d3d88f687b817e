import ArgumentParser
import Redis

/// `presignctl check`: show a token's state without spending it.
package struct CheckCommand: AsyncParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Show a token's state, uses, object, expiry, issuer and tags without spending a use.",
        discussion: """
            Exits 0 when the token is active (it has uses left), 1 when it is spent, revoked or \
            unknown, so scripts can test it.

            EXAMPLE
              presignctl check 'https://gw.example.com/reports/q3.pdf?X-Amz-Algorithm=...'
            """)

    @Argument(help: "A token id or the presigned URL.")
    var target: String

    @OptionGroup var connection: ConnectionOptions

    package init() {}

    package func run() async throws {
        let target = self.target
        let json = connection.json
        var inactive: AdminFailure?
        try await AdminConnection.run(connection) { connection throws(AdminFailure) in
            let reply = try await connection.send(["CHECK", target], name: "CHECK")
            if reply == .null {
                throw AdminFailure(code: "UNKNOWN", message: "UNKNOWN token not issued here", status: .denied)
            }
            let state = try AdminOutput.record(reply, of: "CHECK").first { $0.0 == "state" }?.1.string
            if state != "active" {
                inactive = AdminFailure(code: state?.uppercased() ?? "UNKNOWN", message: "not active", status: .denied)
            }
            return try AdminOutput.checked(reply, json: json)
        }
        // The record is printed either way; a token that cannot be used still exits 1.
        if let inactive { throw ExitCode(inactive.status.rawValue) }
    }
}
