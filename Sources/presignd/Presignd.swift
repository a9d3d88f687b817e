import ArgumentParser
import Dispatch
import Foundation
import NIOCore
import NIOPosix
import Wire

/// The presignd command. Subcommands only configure and call into the modules.
struct Presignd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "presignd",
        abstract: "Single-use, N-use and revocable presigned S3 URLs.",
        version: Release.version,
        subcommands: [
            ServeCommand.self, DevCommand.self, CheckConfigCommand.self, HashSecretCommand.self, PresignCommand.self,
            VerifyCommand.self, FunctionLibraryCommand.self,
        ])
}

/// The entry point. Before any Swift Concurrency code runs, NIO's event loops become its global
/// executor: a request's task then runs on the event loops themselves, without hopping to a
/// second thread pool and back on every Redis round trip (2 cores shared with Redis here).
@main
enum Entry {
    static func main() {
        CommandLineArguments.requireUTF8(program: "presignd")
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        Task {
            await Presignd.main()  // exits by itself on an error
            exit(0)
        }
        dispatchMain()
    }
}
