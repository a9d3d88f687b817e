/// Prometheus text exposition format (version 0.0.4), written by hand: `# HELP` and `# TYPE`
/// once per metric name, then one line per sample.
package struct PrometheusText: Sendable {
    /// The exposition so far.
    package private(set) var text = ""
    private var described: Set<String> = []

    package init() {}

    /// Adds one sample of `name`; `type` is `counter`, `gauge` or `histogram` (for a histogram,
    /// `name` is the family name and `suffix` picks `_bucket`, `_sum` or `_count`).
    package mutating func add(
        _ name: String, type: String, help: String, suffix: String = "", labels: [(String, String)] = [],
        value: Double
    ) {
        if described.insert(name).inserted {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        text += name + suffix
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " " + Self.format(value) + "\n"
    }

    /// A whole-number sample.
    package mutating func add(
        _ name: String, type: String, help: String, suffix: String = "", labels: [(String, String)] = [], value: Int
    ) {
        add(name, type: type, help: help, suffix: suffix, labels: labels, value: Double(value))
    }

    /// Label values escape backslash, double quote and line feed (the format's only escapes).
    static func escape(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    static func format(_ value: Double) -> String {
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
