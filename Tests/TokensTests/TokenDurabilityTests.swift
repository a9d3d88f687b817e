import Redis
import TestSupport
import Testing
import Tokens

@Suite("RedisTokenStore across Redis crashes and outages")
struct TokenDurabilityTests {
    @Test("with appendfsync always, every acknowledged consume survives kill -9, and so does the library")
    func survivesKill9() async throws {
        // Durability is under test, not speed: an fsync per write can stall past the usual 1 s
        // command timeout on a busy disk.
        try await TokenFixture.with(
            serverConfig: ["appendonly yes", "appendfsync always"], commandTimeout: .seconds(10)
        ) { fixture in
            var consumed: [String] = []
            var untouched: [String] = []
            for index in 0..<2000 {
                let id = try await fixture.created().id
                if index % 2 == 0 { consumed.append(id) } else { untouched.append(id) }
            }
            try await withThrowingTaskGroup(of: Int.self) { group in
                for id in consumed { group.addTask { try await fixture.store.consume(id: id, method: nil).usesLeft } }
                for try await left in group { #expect(left == 0) }
            }
            fixture.server.kill9()
            try fixture.server.restart()
            // Checked before the store makes any call, since a call would reload a missing library.
            #expect(try fixture.server.cli("FUNCTION", "LIST", "LIBRARYNAME", FunctionLibrary.standard.name).contains(FunctionLibrary.standard.name))
            #expect(await eventually(within: .seconds(5)) { (try? await fixture.store.check(id: consumed[0])) != nil })
            for id in consumed {
                #expect(try await fixture.store.check(id: id)?.state == .spent)
            }
            for id in untouched {
                #expect(try await fixture.store.check(id: id)?.state == .active)
            }
        }
    }

    @Test("Redis down: UNAVAILABLE, never success; back up: the same store works again")
    func unavailableThenBack() async throws {
        try await TokenFixture.with(serverConfig: ["appendonly yes"]) { fixture in
            let token = try await fixture.created(uses: 2)
            fixture.server.kill9()
            #expect(await denial { try await fixture.store.consume(id: token.id, method: nil) } == .unavailable)
            #expect(await denial { try await fixture.store.check(id: token.id) } == .unavailable)
            try fixture.server.restart()
            // The client reconnects with backoff capped well under a second; this only bounds the wait.
            // It waits with CHECK, which changes nothing: a consume that ran but whose reply came too
            // late would be retried here and leave 0 uses, not 1.
            let back = await eventually(within: .seconds(10)) {
                (try? await fixture.store.check(id: token.id))?.usesLeft == 2
            }
            #expect(back)
            #expect(try await fixture.store.consume(id: token.id, method: nil).usesLeft == 1)
        }
    }

    @Test("a frozen Redis: the consume's outcome is unknown, so it is UNAVAILABLE, not success")
    func frozenRedis() async throws {
        try await TokenFixture.with { fixture in
            let token = try await fixture.created()
            fixture.server.pause()
            let code = await denial { try await fixture.store.consume(id: token.id, method: nil) }
            fixture.server.resume()
            #expect(code == .unavailable)
        }
    }
}
