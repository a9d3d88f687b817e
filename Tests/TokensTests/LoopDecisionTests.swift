import NIOCore
import NIOPosix
import Redis
import TestSupport
import Testing
import Tokens

/// The gateway path's `consume`, `reserve` and `settle`, and ISSUE's `create` (`…on:`): answered on
/// the caller's event loop without a task, except where only the async path can answer (a library to
/// load, writes to confirm).
@Suite("RedisTokenStore: decisions from an event loop")
struct LoopDecisionTests {
    /// `body`'s future, made on an event loop as a connection handler makes it.
    static func onLoop<Value: Sendable>(_ body: @escaping @Sendable (any EventLoop) -> EventLoopFuture<Value>)
        async throws -> Value
    {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        return try await loop.flatSubmit { body(loop) }.get()
    }

    static func consume(_ store: RedisTokenStore, _ id: String, method: String? = nil) async throws -> Consumption {
        try await onLoop { store.consume(id: id, method: method, on: $0) }
    }

    @Test("uses are spent as by the async consume; denials carry the same codes")
    func spendsAndDenies() async throws {
        try await TokenFixture.with { fixture in
            let token = try await fixture.created(uses: 2)
            let first = try await Self.consume(fixture.store, token.id, method: "GET")
            #expect(first.usesLeft == 1)
            #expect(first.object == TokenObject(bucket: "photos", key: "users/1/avatar.png"))
            #expect(await denial { try await Self.consume(fixture.store, token.id, method: "PUT") } == .mismatch)
            #expect(try await Self.consume(fixture.store, token.id).usesLeft == 0)
            #expect(await denial { try await Self.consume(fixture.store, token.id) } == .used)
            #expect(await denial { try await Self.consume(fixture.store, randomTokenID()) } == .unknown)
            #expect(await denial { try await Self.consume(fixture.store, "not an id") } == .err)
            #expect(try await fixture.store.check(id: token.id)?.state == .spent)
        }
    }

    @Test("leases taken, committed and released from the loop, with the same denials as the async forms")
    func leases() async throws {
        try await TokenFixture.with { fixture in
            let store = fixture.store
            let object = TokenObject(bucket: "photos", key: "users/1/avatar.png")
            let token = try await fixture.created(uses: 2)
            let first = try await Self.onLoop { store.reserve(id: token.id, method: "GET", leaseMillis: 60_000, on: $0) }
            let second = try await Self.onLoop { store.reserve(id: token.id, method: nil, leaseMillis: 60_000, on: $0) }
            #expect(first.object == object && second.lease.hasPrefix(token.id + "."))
            #expect(await denial { try await Self.onLoop { store.reserve(id: token.id, method: nil, leaseMillis: 1, on: $0) } } == .reserved)
            #expect(try await Self.onLoop { store.settle(lease: first.lease, commit: true, on: $0) } == object)
            #expect(try await Self.onLoop { store.settle(lease: second.lease, commit: false, on: $0) } == object)
            #expect(await denial { try await Self.onLoop { store.settle(lease: second.lease, commit: true, on: $0) } } == .unknown)
            #expect(await denial { try await Self.onLoop { store.settle(lease: "no lease", commit: true, on: $0) } } == .err)
            #expect(try await store.check(id: token.id)?.usesLeft == 1)
            // The library gone: the loop path loads it again, and the lease is taken once.
            #expect(try fixture.server.cli("FUNCTION", "FLUSH") == "OK")
            let third = try await Self.onLoop { store.reserve(id: token.id, method: nil, leaseMillis: 60_000, on: $0) }
            #expect(try await store.check(id: token.id)?.leasesHeld == 1)
            #expect(try await Self.onLoop { store.settle(lease: third.lease, commit: true, on: $0) } == object)
            #expect(try await store.check(id: token.id)?.state == .spent)
        }
    }

    @Test("a server that lost the library: the loop path loads it again and the consume runs once")
    func reloadsTheLibrary() async throws {
        try await TokenFixture.with { fixture in
            let token = try await fixture.created(uses: 3)
            #expect(try fixture.server.cli("FUNCTION", "FLUSH") == "OK")
            #expect(try await Self.consume(fixture.store, token.id).usesLeft == 2)
            #expect(try await fixture.store.check(id: token.id)?.usesLeft == 2)
        }
    }

    @Test("a client that confirms writes with WAIT: the loop path waits too, and an unconfirmed write fails")
    func confirmedWritesWait() async throws {
        try await TokenFixture.with { fixture in
            let token = try await fixture.created(uses: 3)
            var configuration = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: fixture.server.port))
            configuration.connectionCount = 1
            configuration.replicaAcknowledgements = 1
            configuration.replicaTimeout = .milliseconds(200)
            let client = RedisClient(
                configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: quietLogger)
            try await client.waitUntilConnected()
            let store = RedisTokenStore(
                client: client, keyspace: try TokenKeyspace(prefix: "test:"), logger: quietLogger)
            // No replica: the consume runs, but its WAIT confirms nothing, so it must not count.
            #expect(await denial { try await Self.consume(store, token.id) } == .unavailable)
            #expect(try await fixture.store.check(id: token.id)?.usesLeft == 2)
            await client.shutdown()
        }
    }

    @Test("tokens created from the loop are indexed by object and tag; a taken id, a bad token and a lost library as for the async create")
    func creates() async throws {
        try await TokenFixture.with { fixture in
            let store = fixture.store
            let token = try fixture.newToken(uses: 2, tags: ["batch-7"])
            try await Self.onLoop { store.create(token, on: $0) }
            let record = try await store.check(id: token.id)
            #expect(record?.usesLeft == 2 && record?.state == .active)
            #expect(await denial { try await Self.onLoop { store.create(token, on: $0) } } == .exists)
            var unusable = try fixture.newToken()
            unusable.uses = 0
            let bad = unusable
            #expect(await denial { try await Self.onLoop { store.create(bad, on: $0) } } == .err)
            #expect(try await store.check(id: bad.id) == nil)
            // Both indexes were written with the token: revoking by tag and by object finds it.
            #expect(try await store.revokeTag("batch-7", by: "test", reason: "test") == 1)
            let other = try fixture.newToken(key: "users/2/avatar.png")
            #expect(try fixture.server.cli("FUNCTION", "FLUSH") == "OK")
            try await Self.onLoop { store.create(other, on: $0) }
            #expect(try await store.revokeObject(bucket: other.bucket, key: other.key, by: "test", reason: "test") == 1)
        }
    }
}
