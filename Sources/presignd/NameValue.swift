import ArgumentParser

/// A `NAME=VALUE` option argument (`--param`, `--header`). The value may contain `=`.
struct NameValue: ExpressibleByArgument {
    let name: String
    let value: String

    init?(argument: String) {
        // Split on the first `=` scalar: as a Character, `=` followed by a combining mark is one
        // grapheme with it, and would be missed or taken for part of the name.
        let scalars = argument.unicodeScalars
        guard let equals = scalars.firstIndex(of: "="), equals != scalars.startIndex else { return nil }
        name = String(scalars[..<equals])
        value = String(scalars[scalars.index(after: equals)...])
    }
}
