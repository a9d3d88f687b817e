#if canImport(Glibc)
    import Glibc
#endif
import Logging
import NIOCore
import SigV4
import Synchronization
import Tokens
import Wire

/// The meaning of presignd's commands: authentication, roles and scopes, limits, and issue /
/// consume / reserve / commit / release / check / revoke over a `TokenStore`.
///
/// `dispatch` runs on the connection's event loop, in request order. Everything that needs no
/// I/O (parsing, AUTH, HELLO, authorization, signing, verification) happens there, so session
/// changes apply in order; what needs Redis continues as a future: from the loop itself, without a
/// task, for ISSUE and the gateway's commands where the store allows, in a task for the others.
package final class Broker: Sendable {
    /// How a command is answered.
    package enum Outcome {
        /// The reply is known now.
        case now(Reply)
        /// The reply arrives when Redis answers.
        case later(EventLoopFuture<Reply>)
        /// Several replies to one request, written in order (SUBSCRIBE and UNSUBSCRIBE answer once
        /// per channel, as Redis does).
        case replies([Reply])
    }

    let store: any TokenStore
    let logger: Logger
    /// One line per state-changing decision (ISSUE, CONSUME, RESERVE, COMMIT, RELEASE, REVOKE).
    let audit: AuditTrail
    /// Unix time in milliseconds; injected so tests can move the clock.
    let clock: @Sendable () -> Int64
    private let settingsBox: Mutex<BrokerSettings>
    let version: String
    let startedAt: Int64
    let counters = BrokerCounters()
    /// Offsets for identical ISSUEs in one second (`IdenticalIssues`).
    let identicalIssues = IdenticalIssues()
    /// Open line-protocol connections, counted by the listeners that accept them.
    package let lineConnections = ConnectionCounter()
    /// This instance's fan-out of invalidation events; nil turns SUBSCRIBE off.
    package let invalidations: InvalidationHub?
    /// The event Stream for REPLAY; nil turns REPLAY off.
    let events: EventStream?

    package init(
        settings: BrokerSettings, store: any TokenStore, logger: Logger, version: String = Release.version,
        invalidations: InvalidationHub? = nil, events: EventStream? = nil, audit: AuditTrail.Mode = .all,
        clock: @escaping @Sendable () -> Int64 = Broker.systemClock
    ) {
        self.settingsBox = Mutex(settings)
        self.store = store
        self.invalidations = invalidations
        self.events = events
        self.logger = logger
        self.audit = AuditTrail(logger: logger, mode: audit)
        self.clock = clock
        self.version = version
        self.startedAt = clock()
    }

    /// The wall clock in Unix milliseconds.
    package static let systemClock: @Sendable () -> Int64 = {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    /// The settings in force.
    package var settings: BrokerSettings { settingsBox.withLock { $0 } }

    /// Replaces clients, profiles and limits (SIGHUP). Connections keep their sessions; a
    /// client that was removed or lost roles is checked against the new settings on its next
    /// command.
    package func reload(_ settings: BrokerSettings) {
        settingsBox.withLock { $0 = settings }
        logger.info("configuration reloaded", metadata: ["clients.count": "\(settings.clients.count)", "profiles.count": "\(settings.profiles.count)"])
    }

    /// Answers one request. `arguments` is the command name and its arguments.
    package func dispatch(_ arguments: [ByteBuffer], session: inout Session, on eventLoop: any EventLoop) -> Outcome {
        guard let first = arguments.first else { return .now(BrokerError(.err, "empty command").reply) }
        let name = String(buffer: first).asciiUppercased
        do {
            let outcome = try dispatch(name: name, CommandArguments(arguments, name: name), session: &session, on: eventLoop)
            // Every call counts, as in Redis's INFO commandstats; one answered later is counted
            // when it is (`counted`).
            switch outcome {
            case .now(.error(let code, _)): counters.record(command: name, outcome: code)
            case .now, .replies: counters.record(command: name, outcome: "OK")
            case .later: break
            }
            return outcome
        } catch {
            counters.record(command: name, outcome: error.code.rawValue)
            // Refused before reaching Redis (authentication, role, scope, syntax, signature).
            if let action = AuditTrail.Action(command: name) {
                audit.record(action, client: session.client?.id, denied: error)
            }
            return .now(error.reply)
        }
    }

    private func dispatch(
        name: String, _ arguments: CommandArguments, session: inout Session, on eventLoop: any EventLoop
    ) throws(BrokerError) -> Outcome {
        var arguments = arguments
        try CommandSpec.byName[name]?.checkArity(arguments)
        // Subscribed mode first: there, as in Redis, MULTI is one more command not taken, and
        // must not start a transaction that refuses the PING after it.
        if session.subscribed && session.protocolVersion == .resp2,
            let reply = try subscribedModeReply(name: name, &arguments)
        {
            return .now(reply)
        }
        if let reply = try transactionReply(name: name, hasArguments: !arguments.isAtEnd, session: &session) {
            return .now(reply)
        }
        switch name {
        case "PING": return .now(try ping(&arguments))
        case "HELLO": return .now(try hello(&arguments, session: &session))
        case "AUTH": return .now(try auth(&arguments, session: &session))
        case "QUIT":
            session.closeAfterReply = true
            return .now(.simple("OK"))
        case "COMMAND": return .now(try command(&arguments))
        case "CLIENT": return .now(try clientCommand(&arguments, session: session))
        default: break
        }
        let settings = self.settings
        let client = try authenticated(session, settings: settings)
        switch name {
        case "ISSUE":
            try require(.issue, of: client, for: name)
            return later(command: name, try issue(&arguments, client: client, settings: settings, on: eventLoop)) {
                $0
            }
        case "CONSUME":
            try require(.gateway, of: client, for: name)
            return later(command: name, try consume(&arguments, client: client, settings: settings, on: eventLoop)) {
                .integer($0)
            }
        case "RESERVE":
            try require(.gateway, of: client, for: name)
            return later(command: name, try reserve(&arguments, client: client, settings: settings, on: eventLoop)) {
                .bulk($0)
            }
        case "COMMIT", "RELEASE":
            try require(.gateway, of: client, for: name)
            let settled = try settle(&arguments, client: client, commit: name == "COMMIT", on: eventLoop)
            return later(command: name, settled) { .simple("OK") }
        case "CHECK":
            guard client.roles.contains(.gateway) || client.roles.contains(.admin) else {
                throw noPermission(client, name)
            }
            return later(on: eventLoop, command: name, try check(&arguments, client: client, settings: settings))
        case "REVOKE":
            try require(.admin, of: client, for: name)
            return later(on: eventLoop, command: name, try revoke(&arguments, client: client, settings: settings))
        case "ECHO":
            return .now(.bulk(try arguments.bytes("message")))
        case "INFO":
            try require(.admin, of: client, for: name)
            return .now(try info(&arguments, settings: settings))
        case "SUBSCRIBE":
            try require(.admin, of: client, for: name)
            return .replies(try subscribe(&arguments, session: &session))
        case "UNSUBSCRIBE":
            return .replies(try unsubscribe(&arguments, session: &session))
        case "REPLAY":
            try require(.admin, of: client, for: name)
            return later(on: eventLoop, command: name, try replay(&arguments, client: client))
        default:
            throw BrokerError(.err, "unknown command '\(Self.printable(name, limit: 32))'")
        }
    }

    /// presignd has no transactions. A client library's transaction (redis-py's default
    /// pipeline) sends MULTI, its commands and EXEC in one go: were MULTI merely unknown, the
    /// commands would run one by one while the client believes the whole failed. So MULTI is
    /// refused and every command up to EXEC or DISCARD is refused too, and EXEC answers
    /// EXECABORT, as Redis does for a transaction with an error in it. Nil: not a transaction's.
    private func transactionReply(
        name: String, hasArguments: Bool, session: inout Session
    ) throws(BrokerError) -> Reply? {
        // They take no arguments; with one, as in Redis, nothing changes.
        if hasArguments && ["MULTI", "EXEC", "DISCARD"].contains(name) {
            throw BrokerError(.err, "wrong number of arguments for '\(name.lowercased())' command")
        }
        if session.inRefusedTransaction {
            switch name {
            case "EXEC":
                session.inRefusedTransaction = false
                throw BrokerError(
                    .execAbort, "Transaction discarded because of previous errors: presignd has no transactions")
            case "DISCARD":
                session.inRefusedTransaction = false
                return .simple("OK")
            case "QUIT":
                return nil
            default:
                throw BrokerError(.err, "not run: it follows a MULTI, and presignd has no transactions (send DISCARD)")
            }
        }
        switch name {
        case "MULTI":
            session.inRefusedTransaction = true
            throw BrokerError(.err, "MULTI is not supported: presignd has no transactions; commands up to EXEC or DISCARD will not run")
        case "EXEC": throw BrokerError(.err, "EXEC without MULTI")
        case "DISCARD": throw BrokerError(.err, "DISCARD without MULTI")
        default: return nil
        }
    }

    /// Runs the Redis part of a command in a task and turns its error into a reply.
    private func later(
        on eventLoop: any EventLoop, command: String, _ work: @escaping @Sendable () async throws(BrokerError) -> Reply
    ) -> Outcome {
        later(command: command, eventLoop.makeFutureWithImmediateTask(work)) { $0 }
    }

    /// The reply to what a future brings, or the reply of the `BrokerError` it fails with.
    private func later<Value: Sendable>(
        command: String, _ value: EventLoopFuture<Value>, reply: @escaping @Sendable (Value) -> Reply
    ) -> Outcome {
        .later(counted(command, value) { outcome in
            switch outcome {
            case .success(let value): reply(value)
            case .failure(let denial): denial.reply
            }
        })
    }

    /// `answer` to `future`'s outcome, counted under `command`: its value, or the `BrokerError` it
    /// failed with (any other failure means the work was torn down, which still denies:
    /// `UNAVAILABLE`). One promise, completed from one callback: this runs for every request.
    func counted<Value: Sendable, Answer: Sendable>(
        _ command: String, _ future: EventLoopFuture<Value>,
        answer: @escaping @Sendable (Result<Value, BrokerError>) -> Answer
    ) -> EventLoopFuture<Answer> {
        let counters = self.counters
        let promise = future.eventLoop.makePromise(of: Answer.self)
        future.whenComplete { result in
            let outcome = result.mapError { $0 as? BrokerError ?? BrokerError(.unavailable, "the request did not complete") }
            switch outcome {
            case .success: counters.record(command: command, outcome: "OK")
            case .failure(let denial): counters.record(command: command, outcome: denial.code.rawValue)
            }
            promise.succeed(answer(outcome))
        }
        return promise.futureResult
    }

    private func authenticated(_ session: Session, settings: BrokerSettings) throws(BrokerError) -> ClientPolicy {
        guard let client = session.client else { throw BrokerError(.noAuth, "Authentication required.") }
        if client.secretSHA256.isEmpty { return client }  // the open client of an open listener
        // Reloads apply to live sessions: a removed client loses access at once.
        guard let current = settings.clients[client.id], current.accepts(secretSHA256: client.secretSHA256) else {
            throw BrokerError(.noAuth, "Authentication required: the client's credentials changed.")
        }
        return current
    }

    /// The client a subscribed connection receives events as, with its scopes as the running
    /// configuration has them; throws why it may no longer receive any: its client was removed,
    /// its secret rotated away or its admin role taken by a reload. A subscriber sends no command
    /// that would be checked, so its connection asks before each delivery.
    package func subscriber(_ session: Session) throws(BrokerError) -> ClientPolicy {
        let client = try authenticated(session, settings: settings)
        try require(.admin, of: client, for: "SUBSCRIBE")
        return client
    }

    private func require(_ role: Role, of client: ClientPolicy, for command: String) throws(BrokerError) {
        guard client.roles.contains(role) else { throw noPermission(client, command) }
    }

    func noPermission(_ client: ClientPolicy, _ command: String) -> BrokerError {
        BrokerError(.noPerm, "client '\(client.id)' has no permissions to run the '\(command.lowercased())' command")
    }

    /// `text` cut to `limit` characters with control characters replaced, for error messages
    /// that echo input.
    static func printable(_ text: String, limit: Int) -> String {
        let cut = text.unicodeScalars.prefix(limit).map { $0.value < 0x20 || $0.value == 0x7f ? "?" : Character($0) }
        return String(cut) + (text.unicodeScalars.count > limit ? "…" : "")
    }
}
