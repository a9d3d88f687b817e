/// The arguments of the modes that talk to a redis-server: `preload` or `run`, then `--name value`
/// pairs of positive integers. Anything else prints the usage and exits.
struct ModeArguments {
    var mode: String
    private var values: [String: Int] = [:]

    init(_ arguments: [String], names: Set<String>) {
        var rest = arguments[...]
        mode = rest.popFirst() ?? ""
        guard mode == "preload" || mode == "run" else { PresignBench.usage() }
        while let argument = rest.popFirst() {
            guard names.contains(argument), let value = rest.popFirst().flatMap(Int.init), value > 0 else {
                PresignBench.usage()
            }
            values[argument] = value
        }
    }

    subscript(_ name: String, default fallback: Int) -> Int { values[name] ?? fallback }
}
