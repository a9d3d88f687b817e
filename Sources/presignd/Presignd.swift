import ArgumentParser

/// The presignd command. Subcommands only configure and call into the modules.
@main
struct Presignd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "presignd",
        abstract: "Single-use, N-use and revocable presigned S3 URLs.",
        subcommands: [
            ServeCommand.self, DevCommand.self, CheckConfigCommand.self, HashSecretCommand.self, PresignCommand.self,
            VerifyCommand.self,
        ])
}
