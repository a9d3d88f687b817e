#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The command-line rule of presignd's executables: arguments are UTF-8, as they are on the
/// wire. Swift's `CommandLine.arguments` turns bytes that are not into U+FFFD, so a key given as
/// `$'a\xffb'` would be signed as another key; the raw `argv` is checked instead.
package enum CommandLineArguments {
    /// The position (1-based, after the program name) of the first argument that is not UTF-8.
    package static func firstNotUTF8() -> Int? {
        for index in 1..<Int(CommandLine.argc) {
            guard let argument = CommandLine.unsafeArgv[index] else { continue }
            if String(validatingCString: argument) == nil { return index }
        }
        return nil
    }

    /// A `NAME=VALUE` option argument (`--param`, `--header`) split at its first `=` scalar, so
    /// the value may hold `=`; nil without one or with an empty name. (As a Character, `=` and a
    /// combining mark after it are one, and would be missed or taken for part of the name.)
    package static func nameValue(_ argument: String) -> (name: String, value: String)? {
        let scalars = argument.unicodeScalars
        guard let equals = scalars.firstIndex(of: "="), equals != scalars.startIndex else { return nil }
        return (String(scalars[..<equals]), String(scalars[scalars.index(after: equals)...]))
    }

    /// Exits with status 64 (usage), naming the argument, when one is not UTF-8.
    package static func requireUTF8(program: String) {
        guard let index = firstNotUTF8() else { return }
        let message = Array("\(program): argument \(index) is not valid UTF-8\n".utf8)
        _ = message.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
        exit(64)
    }
}
