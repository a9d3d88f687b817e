import NIOCore

/// The arguments of one command, read front to back, each check naming what was wrong.
struct CommandArguments {
    private let arguments: [ByteBuffer]
    private var index = 1
    /// The command's name in upper case, for messages.
    let name: String

    /// `arguments` is the whole request; `name`, its first element in upper case.
    init(_ arguments: [ByteBuffer], name: String) {
        self.arguments = arguments
        self.name = name
    }

    var isAtEnd: Bool { index >= arguments.count }
    var remaining: Int { arguments.count - index }
    /// Words in the request, the name included.
    var count: Int { arguments.count }

    /// The next argument as a string, left to be read.
    func peek() -> String? {
        index < arguments.count ? String(buffer: arguments[index]) : nil
    }

    /// The next argument as a string. Arguments other than PING's and ECHO's must be UTF-8: read
    /// leniently, `\xff` and `\xfe` would both become U+FFFD, and two different keys one object.
    mutating func string(_ what: String) throws(BrokerError) -> String {
        let bytes = try self.bytes(what)
        guard let text = String(validating: bytes.readableBytesView, as: UTF8.self) else {
            throw BrokerError(.err, "\(what) is not valid UTF-8")
        }
        return text
    }

    /// The next argument's bytes as they came (PING's and ECHO's message: binary-safe, as in Redis).
    mutating func bytes(_ what: String) throws(BrokerError) -> ByteBuffer {
        guard index < arguments.count else {
            throw BrokerError(.err, "wrong number of arguments for '\(name.lowercased())' command: missing \(what)")
        }
        defer { index += 1 }
        return arguments[index]
    }

    /// An integer as Redis reads one: decimal digits, `-` in front for a negative one.
    static func integer(_ text: String) -> Int? {
        // Redis's string2ll: no `+`, no leading zero (`0300`), no `-0`; the number written as it reads.
        guard let value = Int(text), String(value) == text else { return nil }
        return value
    }

    /// The next argument as an integer within `range`.
    mutating func integer(_ what: String, in range: ClosedRange<Int>) throws(BrokerError) -> Int {
        let text = try string(what)
        guard let value = Self.integer(text), range.contains(value) else {
            throw BrokerError(.err, "\(what) must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// Fails when arguments are left over.
    func expectEnd() throws(BrokerError) {
        guard isAtEnd else {
            throw BrokerError(.err, "wrong number of arguments for '\(name.lowercased())' command")
        }
    }
}

extension String {
    /// The string with ASCII letters in upper case and every other character as it is: how command
    /// names and keywords are matched, as Redis matches them (`strcasecmp`). Unicode's upper case
    /// would turn `ıssue` (dotless i) into `ISSUE`.
    var asciiUppercased: String {
        let lower = UInt8(ascii: "a")...UInt8(ascii: "z")
        guard utf8.contains(where: lower.contains) else { return self }
        return String(decoding: utf8.map { lower.contains($0) ? $0 - 32 : $0 }, as: UTF8.self)
    }
}
