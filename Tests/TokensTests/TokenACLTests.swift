import Foundation
import Logging
import NIOPosix
import Redis
import TestSupport
import Testing
import Tokens

/// redis.conf.example as shipped (durability settings, `user default off`, the restricted
/// `presignd` user and the `deployer` user), with only paths, port and passwords replaced.
@Suite("redis.conf.example: the restricted presignd user runs every token operation, nothing more")
struct TokenACLTests {
    static let exampleFile = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("redis.conf.example").path

    /// A server started from the example, with fresh passwords for both users.
    struct ACLServer {
        let server: RedisServer
        let presignd: RedisServer.User
        let deployer: RedisServer.User
        /// Not in the example: a test-only user that can do what an operator's mistake would.
        let admin: RedisServer.User

        static func start() throws -> ACLServer {
            let presignd = RedisServer.User(name: "presignd", password: randomTokenID())
            let deployer = RedisServer.User(name: "deployer", password: randomTokenID())
            let admin = RedisServer.User(name: "test-admin", password: randomTokenID())
            let server = try RedisServer.start(
                configFile: TokenACLTests.exampleFile,
                replacing: ["CHANGE_ME_PRESIGND": presignd.password, "CHANGE_ME_DEPLOYER": deployer.password],
                config: ["user \(admin.name) on >\(admin.password) ~* &* +@all"], cliUser: presignd)
            return ACLServer(server: server, presignd: presignd, deployer: deployer, admin: admin)
        }

        /// A client of `user`, over the Unix socket when `unix`.
        func client(_ user: RedisServer.User, unix: Bool = false) async throws -> RedisClient {
            var configuration = RedisConfiguration(
                endpoint: unix ? .unix(path: server.unixSocket!) : .tcp(host: "127.0.0.1", port: server.port))
            configuration.connectionCount = 1
            configuration.username = user.name
            configuration.password = user.password
            // The daemon names its connections; the deploy user may not (nor needs to).
            configuration.clientName = user.name == "presignd" ? "presignd" : nil
            let client = RedisClient(
                configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
                logger: quietLogger)
            try await client.waitUntilConnected()
            return client
        }

        /// The test admin's client, having loaded the library and taken `revoking` (commands) from
        /// the presignd user; that user's client (over the Unix socket) and a token store on it.
        func presigndStore(
            revoking: [String] = [], logger: Logger = Logger(label: "test")
        ) async throws -> (admin: RedisClient, presignd: RedisClient, store: RedisTokenStore) {
            let admin = try await client(self.admin)
            let loaded = try await admin.send(["FUNCTION", "LOAD", "REPLACE", FunctionLibrary.standard.source])
            #expect(loaded.string == FunctionLibrary.standard.name)
            if !revoking.isEmpty {
                let revoked = try await admin.send(["ACL", "SETUSER", presignd.name] + revoking.map { "-" + $0 })
                #expect(revoked.string == "OK")
            }
            let presignd = try await client(self.presignd, unix: true)
            let keyspace = try TokenKeyspace(prefix: "presign:")
            let store = RedisTokenStore(client: presignd, keyspace: keyspace, logger: logger)
            return (admin, presignd, store)
        }

        /// Redis's clock, in unix milliseconds.
        func nowMillis() throws -> Int64 {
            try #require(Int64(try server.cli("TIME").split(separator: "\n")[0])) * 1000
        }

        /// Runs `body`, then shuts `clients` down and stops the server, whether `body` threw or not.
        func closing(_ clients: [RedisClient], _ body: () async throws -> Void) async throws {
            var failure: (any Error)?
            do { try await body() } catch { failure = error }
            for client in clients { await client.shutdown() }
            server.stop()
            if let failure { throw failure }
        }
    }

    @Test("the example keeps its durability settings when the fixture starts it")
    func durability() throws {
        let acl = try ACLServer.start()
        defer { acl.server.stop() }
        // CONFIG GET and INFO are not granted to either user: see the setting through what it does.
        #expect(try acl.server.cli("CONFIG", "GET", "appendfsync").hasPrefix("NOPERM"))
        #expect(FileManager.default.fileExists(atPath: acl.server.directory + "/appendonlydir"))
    }

    @Test("presignd's user cannot load the library: prepare fails closed until the deploy user loads exactly it")
    func loadingNeedsTheDeployUser() async throws {
        let acl = try ACLServer.start()
        let presignd = try await acl.client(acl.presignd, unix: true)
        let deployer = try await acl.client(acl.deployer)
        let store = RedisTokenStore(
            client: presignd, keyspace: try TokenKeyspace(prefix: "presign:"), logger: quietLogger)
        try await acl.closing([presignd, deployer]) {
            let missing = try #require(await failure { () async throws(TokenError) in try await store.prepare() })
            #expect(missing.code == .unavailable)
            #expect(missing.message.contains("is not loaded"))
            #expect(missing.message.contains("presignd function-library"))
            await #expect(throws: TokenError.self) { try await store.ready() }

            // Same name, other code (another version): still refused.
            let other = FunctionLibrary.standard.source + "\n-- another build"
            #expect(try await deployer.send(["FUNCTION", "LOAD", "REPLACE", other]).string == FunctionLibrary.standard.name)
            let different = try #require(await failure { () async throws(TokenError) in try await store.prepare() })
            #expect(different.code == .unavailable)
            #expect(different.message.contains("different code"))

            #expect(
                try await deployer.send(["FUNCTION", "LOAD", "REPLACE", FunctionLibrary.standard.source]).string
                    == FunctionLibrary.standard.name)
            try await store.prepare()
            try await store.ready()

            // The library vanishes (FUNCTION FLUSH): the reload on "Function not found" meets the
            // same NOPERM and fails closed, until the deploy user loads it again.
            let now = try #require(Int64(try acl.server.cli("TIME").split(separator: "\n")[0])) * 1000
            let token = NewToken(
                id: randomTokenID(), method: "GET", bucket: "b", key: "k", profile: "main", uses: 1, issuedAt: now,
                expiresAt: now + 600_000, issuer: "svc", tags: [])
            try await store.create(token)
            let admin = try await acl.client(acl.admin)
            #expect(try await admin.send(["FUNCTION", "FLUSH"]).string == "OK")
            await admin.shutdown()
            let flushed = try #require(
                await failure { () async throws(TokenError) in _ = try await store.consume(id: token.id, method: nil) })
            #expect(flushed.code == .unavailable && flushed.message.contains("is not loaded"))
            _ = try await deployer.send(["FUNCTION", "LOAD", "REPLACE", FunctionLibrary.standard.source])
            #expect(try await store.consume(id: token.id, method: nil).usesLeft == 0)
        }
    }

    @Test("a presignd user from before index pruning (no +srandmember) still creates tokens with tags")
    func createsWithoutSrandmember() async throws {
        let acl = try ACLServer.start()
        let (admin, presignd, store) = try await acl.presigndStore(revoking: ["srandmember"])
        try await acl.closing([presignd, admin]) {
            let now = try acl.nowMillis()
            for _ in 0..<2 {
                let token = NewToken(
                    id: randomTokenID(), method: "GET", bucket: "b", key: "k", profile: "main", uses: 1, issuedAt: now,
                    expiresAt: now + 600_000, issuer: "svc", tags: ["t"])
                try await store.create(token)
                #expect(try await store.consume(id: token.id, method: nil).usesLeft == 0)
            }
        }
    }

    @Test("a command the rule needs, refused inside the Function by the ACL, is UNAVAILABLE, not ERR")
    func refusedInsideTheFunctionIsUnavailable() async throws {
        let acl = try ACLServer.start()
        let logs = LogRecorder()
        let (admin, presignd, store) = try await acl.presigndStore(revoking: ["hincrby"], logger: logs.logger)
        try await acl.closing([presignd, admin]) {
            let now = try acl.nowMillis()
            let token = NewToken(
                id: randomTokenID(), method: "GET", bucket: "b", key: "k", profile: "main", uses: 2, issuedAt: now,
                expiresAt: now + 600_000, issuer: "svc", tags: [])
            try await store.create(token)
            // (Spending one of two uses is an HINCRBY.) Redis's reply is `ERR user_function:…: … can't run this command`: Redis trouble, deny.
            var refused: TokenError?
            do { _ = try await store.consume(id: token.id, method: nil) } catch let error as TokenError { refused = error }
            #expect(refused?.code == .unavailable, "\(String(describing: refused))")
            #expect(try await store.check(id: token.id)?.usesLeft == 2)
            // Said at warning level, once however many calls meet it (the audit trail may be off).
            _ = try? await store.consume(id: token.id, method: nil)
            let warnings = logs.all.filter { $0.hasPrefix("warning redis refused a token call") }
            #expect(warnings.count == 1 && warnings[0].contains("can't run this command"), "\(logs.all)")
        }
    }

    @Test("a Redis user without a command the functions run is not ready, and the error names each missing one")
    func notReadyWithoutACommand() async throws {
        let acl = try ACLServer.start()
        let logs = LogRecorder()
        let (admin, presignd, store) = try await acl.presigndStore(revoking: ["zadd", "zrange", "xadd"], logger: logs.logger)
        try await acl.closing([presignd, admin]) {
            for attempt in 0..<3 {
                let refused = try #require(await failure { () async throws(TokenError) in
                    if attempt == 0 { try await store.prepare() } else { try await store.ready() }
                })
                #expect(refused.code == .unavailable)
                #expect(refused.message.contains("may not run ZADD, ZRANGE, XADD on presignd's keys and channel"), "\(refused.message)")
            }
            // Logged as an error once, however many probes meet it.
            #expect(logs.all.filter { $0.hasPrefix("error the Redis user may not run ZADD") }.count == 1, "\(logs.all)")
            #expect(try await admin.send(["ACL", "SETUSER", acl.presignd.name, "+zadd", "+zrange", "+xadd"]).string == "OK")
            try await store.ready()
            try await store.prepare()
            // Nor may a key pattern leave out the event stream, or one kind of index set.
            let patterns = ["~presign:t:*", "~presign:oz:*", "~presign:gz:*", "~presign:o:*", "~presign:g:*", "~presign:events"]
            for (left, named) in [("~presign:events", "XADD"), ("~presign:oz:*", "ZADD, ZRANGE, ZREM, PEXPIRETIME, PEXPIREAT, ZSCAN"), ("~presign:o:*", "SSCAN, SREM")] {
                let keys = patterns.filter { $0 != left }
                #expect(try await admin.send(["ACL", "SETUSER", acl.presignd.name, "resetkeys"] + keys).string == "OK")
                let refused = try #require(await failure { () async throws(TokenError) in try await store.ready() })
                #expect(refused.message.contains("may not run \(named) on presignd's keys"), "\(left): \(refused.message)")
            }
            #expect(try await admin.send(["ACL", "SETUSER", acl.presignd.name, "resetkeys"] + patterns).string == "OK")
            try await store.ready()
        }
    }

    @Test("readiness names each command the library's Lua runs when the user may not run it")
    func readinessCoversEveryCommandTheLibraryRuns() async throws {
        // The names the Lua passes to redis.call / redis.pcall / call_sliced, and the scan and remove
        // commands it picks for a kind of set: what the library's permissions function must ask about.
        let source = FunctionLibrary.standard.source
        var names: Set<String> = []
        for pattern in [#"redis\.p?call\('([A-Z]+)'"#, #"call_sliced\('([A-Z]+)'"#, #"scan_command, remove = '([A-Z]+)', '([A-Z]+)'"#] {
            for match in source.matches(of: try Regex(pattern)) {
                for index in 1..<match.output.count {
                    if let name = match.output[index].substring { names.insert(String(name)) }
                }
            }
        }
        #expect(names.isSuperset(of: ["HSET", "ZADD", "ZRANGE", "ZSCAN", "SSCAN", "ZREM", "SREM", "HDEL", "XADD"]), "\(names)")
        let acl = try ACLServer.start()
        let (admin, presignd, store) = try await acl.presigndStore()
        try await acl.closing([presignd, admin]) {
            try await store.ready()
            for name in names.sorted() {
                let lower = name.lowercased()
                #expect(try await admin.send(["ACL", "SETUSER", acl.presignd.name, "-\(lower)"]).string == "OK")
                let refused = await failure { () async throws(TokenError) in try await store.ready() }
                #expect(refused?.message.contains("may not run \(name) on") == true, "\(name): \(String(describing: refused))")
                #expect(try await admin.send(["ACL", "SETUSER", acl.presignd.name, "+\(lower)"]).string == "OK")
            }
            try await store.ready()
        }
    }

    @Test("a write the ACL refuses changes nothing: revoke, revoke by tag and create check before writing")
    func refusedWritesChangeNothing() async throws {
        let acl = try ACLServer.start()
        let (admin, presignd, store) = try await acl.presigndStore()
        try await acl.closing([presignd, admin]) {
            let now = try acl.nowMillis()
            func token() -> NewToken {
                NewToken(
                    id: randomTokenID(), method: "GET", bucket: "b", key: "k", profile: "main", uses: 1, issuedAt: now,
                    expiresAt: now + 600_000, issuer: "svc", tags: ["t"])
            }
            func refusal(_ body: () async throws(TokenError) -> Void) async -> TokenError.Code? {
                do throws(TokenError) {
                    try await body()
                    return nil
                } catch {
                    return error.code
                }
            }
            let first = token()
            try await store.create(first)
            // Without XADD (or PUBLISH) a revocation could not send its event: it does not happen.
            for command in ["xadd", "publish"] {
                #expect(try await admin.send(["ACL", "SETUSER", acl.presignd.name, "-\(command)"]).string == "OK")
                let one = await refusal { () async throws(TokenError) in
                    _ = try await store.revoke(id: first.id, by: "ops", reason: "r")
                }
                let byTag = await refusal { () async throws(TokenError) in
                    _ = try await store.revokeTag("t", by: "ops", reason: "r")
                }
                #expect(one == .unavailable && byTag == .unavailable, "\(command)")
                #expect(try await store.check(id: first.id)?.state == .active)
                #expect(try await admin.send(["ACL", "SETUSER", acl.presignd.name, "+\(command)"]).string == "OK")
            }
            #expect(try await admin.send(["XLEN", "presign:events"]).integer == 0)
            // Without ZADD the token would be created but not found by a revocation by tag: neither is.
            // Nor without ZRANGE, which finds the ids of expired tokens to drop from them.
            for command in ["zadd", "zrange"] {
                #expect(try await admin.send(["ACL", "SETUSER", acl.presignd.name, "-\(command)"]).string == "OK")
                let second = token()
                let created = await refusal { () async throws(TokenError) in try await store.create(second) }
                #expect(created == .unavailable, "\(command)")
                #expect(try await store.check(id: second.id) == nil)
                #expect(try await admin.send(["ACL", "SETUSER", acl.presignd.name, "+\(command)"]).string == "OK")
            }
            // Permissions back: the revocation happens and its event is sent.
            #expect(try await store.revoke(id: first.id, by: "ops", reason: "r"))
            #expect(try await admin.send(["XLEN", "presign:events"]).integer == 1)
        }
    }

    @Test("library missing, not loadable: every request fails closed, logged once per 10 s with a count of the rest")
    func missingLibraryLogsOnce() async throws {
        let acl = try ACLServer.start()
        let presignd = try await acl.client(acl.presignd, unix: true)
        let deployer = try await acl.client(acl.deployer)
        let logs = LogRecorder()
        let store = RedisTokenStore(
            client: presignd, keyspace: try TokenKeyspace(prefix: "presign:"), logger: logs.logger)
        try await acl.closing([presignd, deployer]) {
            for _ in 0..<5 {
                let refused = try #require(
                    await failure { () async throws(TokenError) in
                        _ = try await store.consume(id: randomTokenID(), method: nil)
                    })
                #expect(refused.code == .unavailable && refused.message.contains("is not loaded"))
            }
            let errors = logs.records.filter { $0.level == .error }
            #expect(errors.count == 1)
            #expect(errors.first?.message.contains("is not loaded") == true)
            #expect(errors.first?.fields["log.suppressed"] == nil)
            #expect(logs.records.filter { $0.message == "token function library missing, loading it" }.count == 1)
            // Another cause is another line, logged at once: here another build's code under the name.
            let other = FunctionLibrary.standard.source + "\n-- another build"
            #expect(try await deployer.send(["FUNCTION", "LOAD", "REPLACE", other]).string == FunctionLibrary.standard.name)
            let cause = try #require(await failure { () async throws(TokenError) in try await store.prepare() })
            #expect(cause.message.contains("different code"))
            let both = logs.records.filter { $0.level == .error }
            #expect(both.count == 2)
            #expect(both.last?.message.contains("different code") == true && both.last?.fields["log.suppressed"] == nil)
            // The library gone again: ten seconds on, the first cause is logged again, saying how many
            // of its lines were held back.
            let admin = try await acl.client(acl.admin)
            #expect(try await admin.send(["FUNCTION", "FLUSH"]).string == "OK")
            await admin.shutdown()
            try await Task.sleep(for: .seconds(10))
            await #expect(throws: TokenError.self) { try await store.consume(id: randomTokenID(), method: nil) }
            let later = logs.records.filter { $0.level == .error }
            #expect(later.count == 3)
            #expect(later.last?.message.contains("is not loaded") == true)
            #expect(later.last?.fields["log.suppressed"] == "4")
        }
    }

    @Test("every token operation and the event Stream work as the presignd user; other commands are refused")
    func operations() async throws {
        let acl = try ACLServer.start()
        let deployer = try await acl.client(acl.deployer)
        _ = try await deployer.send(["FUNCTION", "LOAD", "REPLACE", FunctionLibrary.standard.source])
        await deployer.shutdown()
        let presignd = try await acl.client(acl.presignd, unix: true)
        let keyspace = try TokenKeyspace(prefix: "presign:")
        let store = RedisTokenStore(client: presignd, keyspace: keyspace, logger: quietLogger)
        let events = EventStream(client: presignd, keyspace: keyspace)
        try await acl.closing([presignd]) {
            try await store.prepare()
            let now = try #require(Int64(try acl.server.cli("TIME").split(separator: "\n")[0])) * 1000
            func token(uses: Int = 2, key: String = "a.txt", tags: [String] = []) -> NewToken {
                NewToken(
                    id: randomTokenID(), method: "GET", bucket: "b", key: key, profile: "main", uses: uses,
                    issuedAt: now, expiresAt: now + 600_000, issuer: "svc", tags: tags)
            }
            let consumed = token()
            try await store.create(consumed)
            #expect(try await store.consume(id: consumed.id, method: "GET").usesLeft == 1)
            #expect(try await store.consume(id: consumed.id, method: nil).usesLeft == 0)
            #expect(await denial { try await store.consume(id: consumed.id, method: nil) } == .used)

            let leased = token()
            try await store.create(leased)
            let first = try await store.reserve(id: leased.id, method: "GET", leaseMillis: 60_000).lease
            let second = try await store.reserve(id: leased.id, method: nil, leaseMillis: 60_000).lease
            try await store.commit(lease: first)
            try await store.release(lease: second)
            let record = try #require(try await store.check(id: leased.id))
            #expect(record.usesLeft == 1 && record.state == .active)

            let byID = token()
            let byObject = token(key: "b.txt")
            let byTag = token(key: "c.txt", tags: ["campaign"])
            for each in [byID, byObject, byTag] { try await store.create(each) }
            #expect(try await store.revoke(id: byID.id, by: "admin", reason: "leak"))
            #expect(try await store.revokeObject(bucket: "b", key: "b.txt", by: "admin", reason: "") == 1)
            #expect(try await store.revokeTag("campaign", by: "admin", reason: "") == 1)
            #expect(await denial { try await store.consume(id: byTag.id, method: nil) } == .revoked)

            let delivered = try await events.read(after: .zero, count: 10, blockMilliseconds: 10)
            #expect(delivered.count == 3)
            guard case .events(let replayed) = try await events.replay(after: .zero, count: 10) else {
                Issue.record("REPLAY 0-0 answered RESYNC")
                return
            }
            #expect(replayed.map(\.id) == delivered.map(\.id))

            // Outside its rights: loading code, other keys, wiping, reconfiguring.
            for refused in [
                ["FUNCTION", "LOAD", "REPLACE", FunctionLibrary.standard.source], ["GET", "other-key"],
                ["HGETALL", "other:t:{x}"], ["FLUSHALL"], ["CONFIG", "SET", "appendfsync", "no"],
                ["PUBLISH", "other-channel", "x"],
            ] {
                let reply = try await presignd.send(refused)
                #expect(reply.errorMessage?.hasPrefix("NOPERM") == true, "\(refused[0]) answered \(reply)")
            }
        }
    }
}

/// The `TokenError` `body` threw, or nil when it succeeded.
private func failure(_ body: () async throws(TokenError) -> Void) async -> TokenError? {
    do throws(TokenError) {
        try await body()
        return nil
    } catch {
        return error
    }
}
