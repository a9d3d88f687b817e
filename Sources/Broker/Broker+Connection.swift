import SigV4
import Wire

/// PING, HELLO, AUTH and COMMAND: the commands allowed before authentication.
extension Broker {
    func ping(_ arguments: inout CommandArguments) throws(BrokerError) -> Reply {
        if arguments.isAtEnd { return .simple("PONG") }
        let message = try arguments.bytes("message")
        try arguments.expectEnd()
        return .bulk(message)
    }

    /// `HELLO [2|3] [AUTH id secret] [SETNAME name]`, as Redis answers it: a record about the
    /// server and the connection.
    func hello(_ arguments: inout CommandArguments, session: inout Session) throws(BrokerError) -> Reply {
        var version = session.protocolVersion
        if !arguments.isAtEnd {
            let text = try arguments.string("protocol version")
            guard let number = CommandArguments.integer(text) else { throw BrokerError(.err, "Protocol version is not an integer or out of range") }
            guard let requested = RESPVersion(rawValue: number) else {
                throw BrokerError(BrokerError.Code(rawValue: "NOPROTO"), "unsupported protocol version")
            }
            version = requested
        }
        // Every option is read before anything changes, as Redis does: a HELLO answered with an
        // error leaves the connection as it was (its client and its protocol).
        var credentials: (id: String, secret: String)?
        while !arguments.isAtEnd {
            switch try arguments.string("option").asciiUppercased {
            case "AUTH": credentials = (try arguments.string("client id"), try arguments.string("secret"))
            case "SETNAME": _ = try arguments.string("connection name")
            default: throw BrokerError(.err, "syntax error in HELLO: expected AUTH or SETNAME")
            }
        }
        if let credentials { session.client = try authenticate(id: credentials.id, secret: credentials.secret) }
        // PROTOCOL.md allows HELLO before AUTH: it switches the protocol and says who you are,
        // which is nobody until AUTH.
        session.protocolVersion = version
        let client = session.client
        return .record([
            "server": .bulk("presignd"),
            "version": .bulk(self.version),
            "proto": .integer(version.rawValue),
            // An integer, as Redis answers: client libraries read it as one (Lettuce casts it to a
            // Long and fails the connection otherwise). The client id is `client`.
            "id": .integer(session.connectionID),
            "client": client.map { .bulk($0.id) } ?? .null,
            "mode": .bulk("standalone"),
            "role": .bulk("master"),
            "roles": .array((client?.roles.sorted() ?? []).map { .bulk($0.rawValue) }),
            "modules": .array([]),
        ])
    }

    /// `AUTH <client-id> <secret>`.
    func auth(_ arguments: inout CommandArguments, session: inout Session) throws(BrokerError) -> Reply {
        let id = try arguments.string("client id")
        let secret = try arguments.string("secret")
        session.client = try authenticate(id: id, secret: secret)
        return .simple("OK")
    }

    /// Checks a client's secret against its stored SHA-256 (and, during a rotation, the second
    /// one) in constant time. Every attempt compares against two hashes, known id or not, so
    /// timing tells neither which ids exist nor which are being rotated.
    ///
    /// The session keeps the hash that matched: once a reload drops that hash, the session's
    /// next command needs a new AUTH (`authenticated`).
    private func authenticate(id: String, secret: String) throws(BrokerError) -> ClientPolicy {
        let client = settings.clients[id]
        let zero = [UInt8](repeating: 0, count: 32)
        let offered = sha256(Array(secret.utf8))
        let first = client?.secretSHA256 ?? zero
        let second = client?.alternateSecretSHA256 ?? zero
        let matchesFirst = constantTimeEqual(offered, first)
        let matchesSecond = constantTimeEqual(offered, second) && client?.alternateSecretSHA256 != nil
        guard var client, matchesFirst || matchesSecond else {
            // An id that is no configured client's is not logged: it may be a secret typed in the
            // wrong place (`AUTH <secret> <id>`).
            logger.warning(
                "authentication failed",
                metadata: ["client.id": "\(client == nil ? "(unknown)" : Self.printable(id, limit: 64))"])
            throw BrokerError(.wrongPass, "invalid username-password pair or user is disabled.")
        }
        client.secretSHA256 = matchesFirst ? first : second
        client.alternateSecretSHA256 = nil
        return client
    }

    /// `COMMAND [COUNT | LIST | INFO [name ...] | DOCS [name ...]]`, as Redis answers them, about
    /// presignd's own commands. redis-cli asks `COMMAND DOCS` when it starts, for its help and hints.
    func command(_ arguments: inout CommandArguments) throws(BrokerError) -> Reply {
        let all = CommandSpec.all
        guard !arguments.isAtEnd else { return .array(all.map(\.info)) }
        let subcommand = try arguments.string("subcommand").asciiUppercased
        var names: [String] = []
        while !arguments.isAtEnd { names.append(try arguments.string("command name").lowercased()) }
        switch subcommand {
        case "COUNT": return .integer(all.count)  // COUNT and LIST take no names: checkArity
        case "LIST": return .array(all.map { .bulk($0.name) })
        case "INFO":
            if names.isEmpty { return .array(all.map(\.info)) }
            return .array(names.map { CommandSpec.byName[$0.asciiUppercased]?.info ?? .null })
        case "DOCS":
            let chosen = names.isEmpty ? all : all.filter { names.contains($0.name) }
            return .map(chosen.map { (key: .bulk($0.name), value: $0.docs) })
        case "GETKEYS", "GETKEYSANDFLAGS":
            throw BrokerError(.err, "The command has no key arguments")
        default:
            throw BrokerError(
                .err, "unknown subcommand '\(Self.printable(subcommand, limit: 32))' of COMMAND: COUNT, LIST, INFO or DOCS")
        }
    }

    /// Client libraries name themselves on connect (`CLIENT SETNAME`, `CLIENT SETINFO`, as
    /// redis-py does before AUTH); presignd accepts and ignores that. `CLIENT ID` answers the
    /// connection's number.
    func clientCommand(_ arguments: inout CommandArguments, session: Session) throws(BrokerError) -> Reply {
        switch try arguments.string("subcommand").asciiUppercased {
        case "SETNAME": return .simple("OK")
        case "ID":
            try arguments.expectEnd()
            return .integer(session.connectionID)
        case "SETINFO":
            // The two attributes Redis takes; it refuses others.
            let attribute = try arguments.string("attribute")
            guard ["LIB-NAME", "LIB-VER"].contains(attribute.asciiUppercased) else {
                throw BrokerError(.err, "Unrecognized option '\(Broker.printable(attribute, limit: 32))'")
            }
            return .simple("OK")
        default: throw BrokerError(.err, "only CLIENT ID, CLIENT SETNAME and CLIENT SETINFO are supported")
        }
    }
}
