import ArgumentParser

/// `presignctl consume`: spend one use, as a gateway would.
package struct ConsumeCommand: AsyncParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "consume",
        abstract: "Spend one use of a token, as a gateway does (needs the gateway role).",
        discussion: """
            Exits 0 and prints the uses left when the use is allowed, 1 with the denial code \
            (USED, REVOKED, EXPIRED, UNKNOWN, MISMATCH, …) otherwise.

            EXAMPLE
              presignctl consume 3q2-7wEjRkuWcnpVtaSfNg --method GET
            """)

    @Argument(help: "A token id or the presigned URL.")
    var target: String
    @Option(help: ArgumentHelp("Deny unless the token was issued for this method.", valueName: "method"))
    var method: String?

    @OptionGroup var connection: ConnectionOptions

    package init() {}

    /// The `CONSUME` request these arguments stand for.
    package var request: [String] {
        ["CONSUME", target] + (method.map { ["METHOD", $0.uppercased()] } ?? [])
    }

    package func run() async throws {
        let request = self.request
        let json = connection.json
        try await AdminConnection.run(connection) { connection throws(AdminFailure) in
            try AdminOutput.consumed(try await connection.send(request, name: "CONSUME"), json: json)
        }
    }
}
