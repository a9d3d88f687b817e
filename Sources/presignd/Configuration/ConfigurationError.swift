import Yams

/// A configuration problem, naming the key (`clients[1].roles`) and what is wrong with it.
struct ConfigurationError: Error, CustomStringConvertible {
    var key: String
    var problem: String

    var description: String { key.isEmpty ? problem : "\(key): \(problem)" }

    /// Turns a decoding error into the key path and problem an operator can act on.
    init(decoding error: any Error) {
        switch error {
        case let yaml as YamlError:
            self.init(key: "", problem: "not valid YAML: \(Self.describe(yaml) ?? "unreadable")")
        case DecodingError.keyNotFound(let key, let context):
            self.init(
                key: Self.path(context.codingPath + [key]),
                problem: context.debugDescription.hasPrefix("missing") ? context.debugDescription : "missing")
        case DecodingError.typeMismatch(let type, let context):
            self.init(key: Self.path(context.codingPath), problem: "expected \(Self.name(of: type))")
        case DecodingError.valueNotFound(let type, let context):
            self.init(key: Self.path(context.codingPath), problem: "expected \(Self.name(of: type)), found nothing")
        case DecodingError.dataCorrupted(let context):
            if let yaml = context.underlyingError as? YamlError, let problem = Self.describe(yaml) {
                self.init(key: "", problem: "not valid YAML: \(problem)")
            } else {
                self.init(key: Self.path(context.codingPath), problem: context.debugDescription)
            }
        default:
            self.init(key: "", problem: "cannot read the configuration (\(type(of: error)))")
        }
    }

    init(key: String, problem: String) {
        self.key = key
        self.problem = problem
    }

    /// Where and what the YAML problem is, without the snippet of the file Yams would quote: the
    /// line may hold a secret.
    private static func describe(_ error: YamlError) -> String? {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let during = context.map { " (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? ""
            return "line \(mark.line), column \(mark.column): \(problem)\(during)"
        case .duplicatedKeysInMapping(let duplicates, let context):
            return "duplicated key \(duplicates.sorted().joined(separator: ", ")) in the mapping at line \(context.mark.line)"
        case .reader(let problem, _, _, _):
            return problem
        default:
            return nil
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        var text = ""
        for key in keys {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return text
    }

    private static func name(of type: Any.Type) -> String {
        switch type {
        case is Int.Type: "a whole number"
        case is Bool.Type: "true or false"
        case is String.Type: "a string"
        default: "\(type)".lowercased().contains("array") ? "a list" : "a mapping"
        }
    }
}
