import Redis
import TestSupport
import Testing
import Tokens

@Suite("RedisTokenStore under concurrent consumers")
struct TokenRaceTests {
    /// Eight gateways (each its own client and connection) attack every token at once.
    static let gateways = 8

    @Test("one-time tokens: exactly one of 8 concurrent consumes wins, 1,000 times", arguments: [(1, 1000), (3, 200)])
    func race(uses: Int, tokens: Int) async throws {
        try await TokenFixture.with { fixture in
            var ids: [String] = []
            for _ in 0..<tokens { ids.append(try await fixture.created(uses: uses).id) }
            // Correctness under contention, not speed: a generous deadline, so a loaded machine cannot
            // turn a consume into an unknown outcome.
            let clients = (0..<Self.gateways).map { _ in
                TokenFixture.makeClient(port: fixture.server.port, commandTimeout: .seconds(30))
            }
            for client in clients { try await client.waitUntilConnected() }
            let stores = try clients.map {
                RedisTokenStore(client: $0, keyspace: try TokenKeyspace(prefix: "test:"), logger: quietLogger)
            }
            var outcomes: [String: [TokenError.Code?]] = [:]
            // Tokens in waves of 50, each attacked by every gateway at once: 400 calls in flight, under
            // the client's cap of requests in flight.
            for wave in stride(from: 0, to: ids.count, by: 50) {
                await withTaskGroup(of: (String, TokenError.Code?).self) { group in
                    for id in ids[wave..<min(wave + 50, ids.count)] {
                        for store in stores {
                            group.addTask { (id, await denial { try await store.consume(id: id, method: "GET") }) }
                        }
                    }
                    for await (id, outcome) in group { outcomes[id, default: []].append(outcome) }
                }
            }
            for client in clients { await client.shutdown() }
            #expect(outcomes.count == tokens)
            for (id, results) in outcomes {
                #expect(results.count { $0 == nil } == uses, "token \(id)")
                #expect(results.count { $0 == .used } == Self.gateways - uses, "token \(id)")
            }
        }
    }
}
