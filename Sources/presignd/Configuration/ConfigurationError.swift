/// A configuration problem, naming the key (`clients[1].roles`) and what is wrong with it.
struct ConfigurationError: Error, CustomStringConvertible {
    var key: String
    var problem: String

    var description: String { key.isEmpty ? problem : "\(key): \(problem)" }

    /// Turns a decoding error into the key path and problem an operator can act on.
    init(decoding error: any Error) {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            self.init(
                key: Self.path(context.codingPath + [key]),
                problem: context.debugDescription.hasPrefix("missing") ? context.debugDescription : "missing")
        case DecodingError.typeMismatch(let type, let context):
            self.init(key: Self.path(context.codingPath), problem: "expected \(Self.name(of: type))")
        case DecodingError.valueNotFound(let type, let context):
            self.init(key: Self.path(context.codingPath), problem: "expected \(Self.name(of: type)), found nothing")
        case DecodingError.dataCorrupted(let context):
            self.init(key: Self.path(context.codingPath), problem: context.debugDescription)
        default:
            self.init(key: "", problem: "cannot read the configuration: \(error)")
        }
    }

    init(key: String, problem: String) {
        self.key = key
        self.problem = problem
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
