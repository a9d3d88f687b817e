import ArgumentParser

/// `presignctl stats`: presignd's INFO.
package struct StatsCommand: AsyncParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Print presignd's counters and state (INFO; needs the admin role).",
        discussion: """
            Sections of `field:value` lines, as Redis INFO prints them; with --json one object of \
            sections.

            EXAMPLE
              presignctl stats --json
            """)

    @OptionGroup var connection: ConnectionOptions

    package init() {}

    package func run() async throws {
        let json = connection.json
        try await AdminConnection.run(connection) { connection throws(AdminFailure) in
            try AdminOutput.stats(try await connection.send(["INFO"], name: "INFO"), json: json)
        }
    }
}
