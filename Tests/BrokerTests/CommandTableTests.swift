import Broker
import NIOCore
import Testing
import Wire

/// `COMMAND` tells clients (redis-cli's help and hints) what presignd answers; these tests hold
/// what it says to what the broker does.
@Suite("COMMAND: presignd's commands as Redis describes its own")
struct CommandTableTests {
    /// PROTOCOL.md's commands, and the two client libraries send on connect.
    static let protocolCommands: Set<String> = [
        "ping", "echo", "hello", "auth", "quit", "client", "command", "issue", "consume", "reserve", "commit", "release",
        "check", "revoke", "subscribe", "unsubscribe", "replay", "info",
    ]

    static func strings(_ reply: Reply) -> [String] {
        guard case .array(let items) = reply else { return [] }
        return items.compactMap { item in
            switch item {
            case .bulk(let buffer): String(buffer: buffer)
            case .simple(let text): text
            default: nil
            }
        }
    }

    /// name, arity, flags and ACL categories of one `COMMAND INFO` entry.
    static func info(_ reply: Reply) throws -> (name: String, arity: Int, flags: [String], roles: [String]) {
        guard case .array(let fields) = reply, fields.count == 10, case .bulk(let name) = fields[0],
            case .integer(let arity) = fields[1]
        else { throw CommandTableError(message: "not a COMMAND INFO entry: \(reply)") }
        return (String(buffer: name), arity, strings(fields[2]), strings(fields[6]))
    }

    /// `name` with the fewest arguments `arity` allows, each "x".
    static func words(_ name: String, arity: Int) -> [String] {
        [name.uppercased()] + Array(repeating: "x", count: abs(arity) - 1)
    }

    static func isError(_ reply: Reply, code: String? = nil) -> Bool {
        guard case .error(let actual, let message) = reply else { return false }
        return (code == nil || actual == code) && !message.contains("unknown command")
    }

    @Test("every command is listed once, with an arity the broker enforces")
    func aritiesHold() async throws {
        let fixture = try await BrokerFixture()
        var session = Session(client: .open(id: "dev"))
        let listed = Self.strings(try await fixture.run("COMMAND", "LIST", session: &session))
        #expect(Set(listed) == Self.protocolCommands)
        #expect(listed.count == Self.protocolCommands.count)
        #expect(try await fixture.run("COMMAND", "COUNT", session: &session) == .integer(listed.count))
        guard case .array(let all) = try await fixture.run("COMMAND", session: &session) else {
            Issue.record("COMMAND is not an array")
            return
        }
        #expect(try all.map { try Self.info($0).name } == listed)
        for name in listed {
            let entries = try await fixture.run("COMMAND", "INFO", name, session: &session)
            guard case .array(let one) = entries, one.count == 1 else {
                Issue.record("COMMAND INFO \(name): \(entries)")
                continue
            }
            let arity = try Self.info(one[0]).arity
            func isWrongCount(_ reply: Reply) -> Bool {
                guard case .error("ERR", let message) = reply else { return false }
                return message.hasPrefix("wrong number of arguments for '\(name)' command: \(name.uppercased())")
            }
            // The fewest words the arity allows reach the command, which needs no more.
            let fewest = Self.words(name, arity: arity)
            let reply = try await fixture.run(fewest, session: &session)
            #expect(!isWrongCount(reply), "\(fewest) answered \(reply)")
            if case .error(_, let message) = reply {
                #expect(!message.contains("missing"), "\(fewest) answered \(reply)")
            }
            if abs(arity) > 1 {
                #expect(isWrongCount(try await fixture.run(Array(fewest.dropLast()), session: &session)))
            }
            if arity > 0 {
                #expect(isWrongCount(try await fixture.run(fewest + ["x"], session: &session)))
            }
        }
        await fixture.stop()
    }
}

extension CommandTableTests {
    @Test(
        "a wrong number of words is answered with the command's usage, as redis-cli's help shows it",
        arguments: [
            (
                ["ISSUE", "GET", "bucket"],
                "ISSUE GET|PUT|HEAD|DELETE bucket key [TTL seconds] [USES count] [CONTENT-TYPE value] "
                    + "[CONTENT-LENGTH bytes] [TAG tag [TAG tag ...]] [PARAM name value [PARAM name value ...]] "
                    + "[PROFILE name]"
            ),
            (["AUTH", "only-a-password"], "AUTH id secret"),
            (["REVOKE"], "REVOKE target|OBJECT bucket key|TAG tag [REASON text]"),
            (["RESERVE"], "RESERVE target [METHOD method] [LEASE milliseconds]"),
            (["SUBSCRIBE"], "SUBSCRIBE channel [channel ...]"),
            (["CLIENT", "SETINFO", "LIB-NAME"], "CLIENT SETINFO LIB-NAME libname|LIB-VER libver"),
        ])
    func usage(words: [String], usage: String) async throws {
        let fixture = try await BrokerFixture()
        var session = Session()
        let name = ([words[0]] + (words.count > 1 && words[0] == "CLIENT" ? [words[1]] : [])).joined(separator: "|")
        #expect(
            try await fixture.run(words, session: &session)
                == .error(
                    code: "ERR", message: "wrong number of arguments for '\(name.lowercased())' command: \(usage)"))
        await fixture.stop()
    }

    @Test("the roles COMMAND INFO names are the ones the broker asks for; no_auth commands run before AUTH")
    func rolesHold() async throws {
        let fixture = try await BrokerFixture()
        var anonymous = Session()
        guard case .array(let entries) = try await fixture.run("COMMAND", "INFO", session: &anonymous) else {
            Issue.record("COMMAND INFO is not an array")
            return
        }
        for entry in entries {
            let (name, arity, flags, roles) = try Self.info(entry)
            let words = Self.words(name, arity: arity)
            let before = try await fixture.run(words, session: &anonymous)
            if flags.contains("no_auth") {
                #expect(!Self.isError(before, code: "NOAUTH"), "\(name) before AUTH answered \(before)")
            } else {
                #expect(Self.isError(before, code: "NOAUTH"), "\(name) before AUTH answered \(before)")
            }
            for role in Role.allCases {
                var session = Session(client: ClientPolicy(id: "only-\(role)", secretSHA256: [], roles: [role]))
                let reply = try await fixture.run(words, session: &session)
                let refused = Self.isError(reply, code: "NOPERM")
                if roles.isEmpty || roles.contains("@" + role.rawValue) {
                    #expect(!refused, "\(name) refused to a client with role \(role)")
                } else {
                    #expect(refused, "\(name) answered a client without its role (\(role)): \(reply)")
                }
            }
        }
        await fixture.stop()
    }

    @Test("INFO for unknown names is nil, DOCS leaves them out; other subcommands are errors that say why")
    func lookups() async throws {
        let fixture = try await BrokerFixture()
        var session = Session()
        guard case .array(let infos) = try await fixture.run("COMMAND", "INFO", "Consume", "nope", session: &session)
        else {
            Issue.record("COMMAND INFO is not an array")
            return
        }
        #expect(infos.count == 2)
        #expect(try Self.info(infos[0]).name == "consume")
        #expect(infos[1] == .null)
        guard case .map(let docs) = try await fixture.run("COMMAND", "DOCS", "issue", "nope", session: &session) else {
            Issue.record("COMMAND DOCS is not a map")
            return
        }
        #expect(docs.map(\.key) == [.bulk("issue")])
        guard case .map(let fields) = docs[0].value else {
            Issue.record("ISSUE's docs are not a map")
            return
        }
        #expect(fields.map(\.key) == ["summary", "since", "group", "arguments"].map { Reply.bulk($0) })
        #expect(try await fixture.run("COMMAND", "DOCS", "nope", session: &session) == .map([]))
        #expect(
            try await fixture.run("COMMAND", "GETKEYS", "CONSUME", "x", session: &session)
                == .error(code: "ERR", message: "The command has no key arguments"))
        #expect(
            try await fixture.run("COMMAND", "COUNT", "extra", session: &session)
                == .error(code: "ERR", message: "wrong number of arguments for 'command|count' command: COMMAND COUNT"))
        #expect(
            try await fixture.run("CLIENT", "SETNAME", session: &session)
                == .error(
                    code: "ERR", message: "wrong number of arguments for 'client|setname' command: CLIENT SETNAME name")
        )
        #expect(try await fixture.run("CLIENT", "setname", "worker-7", session: &session) == .simple("OK"))
        #expect(
            try await fixture.run("COMMAND", "HELP", session: &session)
                == .error(code: "ERR", message: "unknown subcommand 'HELP' of COMMAND: COUNT, LIST, INFO or DOCS"))
        await fixture.stop()
    }
}

struct CommandTableError: Error {
    let message: String
}

@Suite("INFO: sections as Redis gives them")
struct InfoTests {
    static func sections(_ reply: Reply) -> [String] {
        guard case .verbatim(let text) = reply else { return ["not text: \(reply)"] }
        return text.split(separator: "\r\n").filter { $0.hasPrefix("# ") }.map { String($0.dropFirst(2)) }
    }

    @Test("no section, all, everything or default: every section; named ones in any case; unknown ones add nothing")
    func sectionsChosen() async throws {
        let fixture = try await BrokerFixture()
        var session = Session(client: .open(id: "dev"))
        let every = ["Server", "Clients", "Configuration", "Invalidations", "Commands"]
        for words in [
            ["INFO"], ["INFO", "all"], ["INFO", "EVERYTHING"], ["INFO", "default"], ["INFO", "server", "all"],
        ] {
            #expect(Self.sections(try await fixture.run(words, session: &session)) == every, "\(words)")
        }
        #expect(
            Self.sections(try await fixture.run("INFO", "commands", "SERVER", session: &session)) == [
                "Server", "Commands",
            ])
        #expect(Self.sections(try await fixture.run("INFO", "Configuration", session: &session)) == ["Configuration"])
        #expect(try await fixture.run("INFO", "keyspace", session: &session) == .verbatim(""))
        _ = try await fixture.run("ISSUE", "GET", session: &session)
        // Every call counts, answered at once or not: the eight INFOs above are `other` (an
        // INFO counts once answered, so not itself).
        #expect(
            try await fixture.run("INFO", "commands", session: &session)
                == .verbatim("# Commands\r\ncmdstat_issue:calls=1,ERR=1\r\ncmdstat_other:calls=8,OK=8\r\n"))
        await fixture.stop()
    }
}
