import Wire

/// One command as `COMMAND INFO` and `COMMAND DOCS` describe it. redis-cli builds `help <command>`,
/// `help @<group>` and the hints it shows while a command is typed from `COMMAND DOCS`.
struct CommandSpec: Sendable {
    /// One argument, in the shape of Redis's command documentation.
    struct Argument: Sendable {
        enum Kind: String, Sendable {
            case string, integer, oneof, block
            case pureToken = "pure-token"
        }

        var name: String
        var kind: Kind
        /// The word that introduces the argument (`TTL` in `TTL 300`).
        var token: String?
        var optional = false
        /// It may be repeated, each time with its token (`TAG a TAG b`).
        var repeated = false
        var arguments: [Argument] = []

        static func string(_ name: String) -> Argument { Argument(name: name, kind: .string) }
        static func integer(_ name: String) -> Argument { Argument(name: name, kind: .integer) }
        static func word(_ token: String) -> Argument {
            Argument(name: token.lowercased(), kind: .pureToken, token: token)
        }

        /// `[TOKEN value]`, or `[TOKEN value [TOKEN value ...]]` when repeated.
        static func option(_ token: String, _ value: Argument, repeated: Bool = false) -> Argument {
            var option = value
            option.token = token
            option.optional = true
            option.repeated = repeated
            return option
        }

        /// `[TOKEN a b]` (or repeated, as `option`), several values after one token.
        static func option(_ token: String, _ values: [Argument], repeated: Bool = false) -> Argument {
            option(token, Argument(name: token.lowercased(), kind: .block, arguments: values), repeated: repeated)
        }

        /// As redis-cli's help writes it: `[TAG tag [TAG tag ...]]`.
        var usage: String {
            var part =
                switch kind {
                case .pureToken: token ?? name
                case .oneof: arguments.map(\.usage).joined(separator: "|")
                case .block: arguments.map(\.usage).joined(separator: " ")
                case .string, .integer: name
                }
            if kind != .pureToken, let token { part = token + " " + part }
            if repeated { part += " [" + part + " ...]" }
            return optional ? "[" + part + "]" : part
        }

        var docs: Reply {
            var fields: [(key: Reply, value: Reply)] = [
                (.bulk("name"), .bulk(name)), (.bulk("type"), .bulk(kind.rawValue)),
            ]
            if let token { fields.append((.bulk("token"), .bulk(token))) }
            var flags: [Reply] = []
            if optional { flags.append(.simple("optional")) }
            if repeated { flags += [.simple("multiple"), .simple("multiple_token")] }
            if !flags.isEmpty { fields.append((.bulk("flags"), .array(flags))) }
            if !arguments.isEmpty { fields.append((.bulk("arguments"), .array(arguments.map(\.docs)))) }
            return .map(fields)
        }
    }

    /// Lower case, as Redis reports names; a subcommand is `command|subcommand`.
    let name: String
    /// Redis's convention: N takes exactly N words, the name included; -N at least N.
    let arity: Int
    let group: String
    let summary: String
    /// Runs before AUTH.
    var beforeAuth = false
    /// The roles that may run it (reported as ACL categories, `@gateway`); none: any client.
    var roles: [Role] = []
    /// Subscribes or unsubscribes (Redis's `pubsub` flag).
    var pubsub = false
    var arguments: [Argument] = []
    var subcommands: [CommandSpec] = []

    /// The `COMMAND INFO` entry: name, arity, flags, first key, last key, key step, ACL
    /// categories, tips, key specifications, subcommands. presignd's commands take no Redis keys.
    var info: Reply {
        var flags: [Reply] = beforeAuth ? [.simple("no_auth")] : []
        if pubsub { flags.append(.simple("pubsub")) }
        return .array([
            .bulk(name), .integer(arity), .array(flags), .integer(0), .integer(0), .integer(0),
            .array(roles.map { .simple("@" + $0.rawValue) }), .array([]), .array([]), .array(subcommands.map(\.info)),
        ])
    }

    /// The command and its arguments as redis-cli's help writes them: `CONSUME target [METHOD method]`.
    var usage: String {
        (name.split(separator: "|").map { $0.uppercased() } + arguments.map(\.usage)).joined(separator: " ")
    }

    /// The `COMMAND DOCS` entry.
    var docs: Reply {
        var fields: [(key: Reply, value: Reply)] = [
            (.bulk("summary"), .bulk(summary)), (.bulk("since"), .bulk("0.1.0")), (.bulk("group"), .bulk(group)),
        ]
        if !arguments.isEmpty { fields.append((.bulk("arguments"), .array(arguments.map(\.docs)))) }
        if !subcommands.isEmpty {
            fields.append((.bulk("subcommands"), .map(subcommands.map { (.bulk($0.name), $0.docs) })))
        }
        return .map(fields)
    }
}

extension CommandSpec {
    /// Every command presignd answers, in PROTOCOL.md's order.
    static let all: [CommandSpec] = {
        typealias A = Argument
        let target = A.string("target")
        let method = A.option("METHOD", .string("method"))
        return [
            CommandSpec(
                name: "ping", arity: -1, group: "connection", summary: "Answers PONG, or the message.",
                beforeAuth: true, arguments: [A.string("message").optional()]),
            CommandSpec(
                name: "echo", arity: 2, group: "connection", summary: "Answers the message (after AUTH).",
                arguments: [.string("message")]),
            CommandSpec(
                name: "hello", arity: -1, group: "connection",
                summary: "Chooses RESP2 or RESP3 and may authenticate; answers with the server and the connection.",
                beforeAuth: true,
                arguments: [
                    A(
                        name: "arguments", kind: .block, optional: true,
                        arguments: [
                            .integer("protover"), .option("AUTH", [.string("id"), .string("secret")]),
                            .option("SETNAME", .string("name")),
                        ])
                ]),
            CommandSpec(
                name: "auth", arity: 3, group: "connection",
                summary: "Authenticates the connection as a configured client.",
                beforeAuth: true, arguments: [.string("id"), .string("secret")]),
            CommandSpec(
                name: "quit", arity: -1, group: "connection", summary: "Answers OK and closes the connection.",
                beforeAuth: true),
            CommandSpec(
                name: "client", arity: -2, group: "connection",
                summary: "Accepts the names client libraries give themselves; answers the connection's number.",
                beforeAuth: true,
                subcommands: [
                    CommandSpec(
                        name: "client|id", arity: 2, group: "connection",
                        summary: "Answers the connection's number (HELLO's id).", beforeAuth: true),
                    CommandSpec(
                        name: "client|setname", arity: 3, group: "connection",
                        summary: "Accepted and ignored.", beforeAuth: true, arguments: [.string("name")]),
                    CommandSpec(
                        name: "client|setinfo", arity: 4, group: "connection",
                        summary: "Accepted and ignored.", beforeAuth: true,
                        arguments: [
                            A(
                                name: "attr", kind: .oneof,
                                arguments: [
                                    .option("LIB-NAME", .string("libname")).required(),
                                    .option("LIB-VER", .string("libver")).required(),
                                ])
                        ]),
                ]),
            CommandSpec(
                name: "command", arity: -1, group: "server", summary: "Describes presignd's commands.",
                beforeAuth: true,
                subcommands: [
                    CommandSpec(
                        name: "command|count", arity: 2, group: "server", summary: "The number of commands.",
                        beforeAuth: true),
                    CommandSpec(
                        name: "command|list", arity: 2, group: "server", summary: "The commands' names.",
                        beforeAuth: true),
                    CommandSpec(
                        name: "command|info", arity: -2, group: "server",
                        summary: "Arity, flags and the roles that may run each command (all without names).",
                        beforeAuth: true, arguments: [A.string("command-name").optional(repeated: true)]),
                    CommandSpec(
                        name: "command|docs", arity: -2, group: "server",
                        summary: "Summary and arguments of each command (all without names).",
                        beforeAuth: true, arguments: [A.string("command-name").optional(repeated: true)]),
                ]),
            CommandSpec(
                name: "issue", arity: -4, group: "presignd",
                summary:
                    "Signs a presigned URL and starts tracking it; answers id, url, method, expires_at, uses, headers.",
                roles: [.issue],
                arguments: [
                    A(name: "method", kind: .oneof, arguments: ["GET", "PUT", "HEAD", "DELETE"].map(A.word)),
                    .string("bucket"), .string("key"),
                    .option("TTL", .integer("seconds")), .option("USES", .integer("count")),
                    .option("CONTENT-TYPE", .string("value")), .option("CONTENT-LENGTH", .integer("bytes")),
                    .option("TAG", .string("tag"), repeated: true),
                    .option("PARAM", [.string("name"), .string("value")], repeated: true),
                    .option("PROFILE", .string("name")),
                ]),
            CommandSpec(
                name: "consume", arity: -2, group: "presignd",
                summary: "Spends one use of a URL (its id or the URL); answers the uses left.", roles: [.gateway],
                arguments: [target, method]),
            CommandSpec(
                name: "reserve", arity: -2, group: "presignd",
                summary: "Holds one use until COMMIT, RELEASE or the lease's end; answers the lease.",
                roles: [.gateway],
                arguments: [target, method, .option("LEASE", .integer("milliseconds"))]),
            CommandSpec(
                name: "commit", arity: 2, group: "presignd", summary: "Spends the use a lease holds.",
                roles: [.gateway],
                arguments: [.string("lease")]),
            CommandSpec(
                name: "release", arity: 2, group: "presignd", summary: "Gives back the use a lease holds.",
                roles: [.gateway], arguments: [.string("lease")]),
            CommandSpec(
                name: "check", arity: 2, group: "presignd",
                summary: "A URL's state, uses and object, changing nothing; nil when unknown.",
                roles: [.gateway, .admin],
                arguments: [target]),
            CommandSpec(
                name: "revoke", arity: -2, group: "presignd",
                summary:
                    "Revokes a URL, every URL of an object, or every URL with a tag; answers how many were active.",
                roles: [.admin],
                arguments: [
                    A(
                        name: "what", kind: .oneof,
                        arguments: [
                            target, .option("OBJECT", [.string("bucket"), .string("key")]).required(),
                            .option("TAG", .string("tag")).required(),
                        ]),
                    .option("REASON", .string("text")),
                ]),
            CommandSpec(
                name: "subscribe", arity: -2, group: "pubsub",
                summary: "Receives revocation events; the one channel is 'invalidations'.", roles: [.admin],
                pubsub: true, arguments: [A.string("channel").oneOrMore()]),
            CommandSpec(
                name: "unsubscribe", arity: -1, group: "pubsub", summary: "Stops receiving revocation events.",
                pubsub: true, arguments: [A.string("channel").optional(repeated: true)]),
            CommandSpec(
                name: "replay", arity: -2, group: "pubsub",
                summary:
                    "The revocation events after an event id, oldest first (COUNT: at most that many, default 100).",
                roles: [.admin], arguments: [.string("event-id"), .option("COUNT", .integer("count"))]),
            CommandSpec(
                name: "info", arity: -1, group: "server",
                summary:
                    "Settings and counts as field:value lines in sections (server, clients, configuration, invalidations, commands).",
                roles: [.admin], arguments: [A.string("section").optional(repeated: true)]),
        ]
    }()
}

extension CommandSpec {
    /// The commands by upper-case name, for the arity check every request passes.
    static let byName: [String: CommandSpec] = Dictionary(uniqueKeysWithValues: all.map { ($0.name.uppercased(), $0) })

    /// Fails, as Redis words it and followed by the usage, when the request has a number of words
    /// its command's arity (or its subcommand's, when it names one) does not allow. Checked before
    /// anything else.
    func checkArity(_ arguments: CommandArguments) throws(BrokerError) {
        var spec = self
        if !subcommands.isEmpty, let word = arguments.peek(),
            let subcommand = subcommands.first(where: { $0.name == name + "|" + word.lowercased() })
        {
            spec = subcommand
        }
        let words = arguments.count
        guard spec.arity >= 0 ? words == spec.arity : words >= -spec.arity else {
            throw BrokerError(.err, "wrong number of arguments for '\(spec.name)' command: \(spec.usage)")
        }
    }
}

extension CommandSpec.Argument {
    /// This argument in brackets; `repeated`: also `[value ...]` after it.
    func optional(repeated: Bool = false) -> Self {
        var copy = self
        copy.optional = true
        copy.repeated = repeated
        return copy
    }

    /// This argument without brackets (kept repeated, if it was).
    func required() -> Self {
        var copy = self
        copy.optional = false
        return copy
    }

    /// This argument, then `[value ...]`.
    func oneOrMore() -> Self {
        var copy = self
        copy.repeated = true
        return copy
    }
}
