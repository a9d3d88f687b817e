import ArgumentParser
import Tokens

/// `presignd function-library`: prints the token Function library, so that an operator can load it
/// as a Redis user allowed to, when presignd's own user may not run `FUNCTION LOAD`.
struct FunctionLibraryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "function-library",
        abstract: "Print the Lua source of the token Function library to standard output.",
        discussion: """
            presignd loads its Function library itself when its Redis user may run FUNCTION LOAD. \
            When it may not (a restricted ACL user), load it once per Redis server and version:

              presignd function-library | redis-cli --user deployer --askpass -x FUNCTION LOAD REPLACE

            presignd then checks that the loaded code is exactly this one and refuses to serve otherwise.
            """)

    @Flag(name: .long, help: "Print only the library's name (e.g. presignd_v5).")
    var name = false

    func run() {
        let library = FunctionLibrary.standard
        // No trailing newline is added: what Redis stores must equal the source byte for byte.
        FileOutput(descriptor: 1).write(name ? library.name + "\n" : library.source)
    }
}
