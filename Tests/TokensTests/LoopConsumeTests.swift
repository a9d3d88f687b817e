import NIOCore
import NIOPosix
import Redis
import TestSupport
import Testing
import Tokens

/// `consume(id:method:on:)`, the gateway path: answered on the caller's event loop without a task,
/// except where only the async path can answer (a library to load, writes to confirm).
@Suite("RedisTokenStore: consume from an event loop")
struct LoopConsumeTests {
    static func consume(_ store: RedisTokenStore, _ id: String, method: String? = nil) async throws -> Consumption {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let future = loop.flatSubmit { store.consume(id: id, method: method, on: loop) }
        return try await future.get()
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
}
