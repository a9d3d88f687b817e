import ArgumentParser
import Wire

/// A `NAME=VALUE` option argument (`--param`, `--header`). The value may contain `=`.
struct NameValue: ExpressibleByArgument {
    let name: String
    let value: String

    init?(argument: String) {
        guard let (name, value) = CommandLineArguments.nameValue(argument) else { return nil }
        self.name = name
        self.value = value
    }
}
