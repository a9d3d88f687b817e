import TestSupport
import Testing
import Tokens

@Suite("RedisTokenStore: reserve, commit, release, expiry boundaries")
struct TokenLeaseTests {
    @Test("a lease holds one use: commit spends it, release gives it back")
    func commitAndRelease() async throws {
        try await TokenFixture.with { fixture in
            let store = fixture.store
            let token = try await fixture.created(uses: 2)
            let first = try await store.reserve(id: token.id, method: "GET", leaseMillis: 60_000).lease
            let second = try await store.reserve(id: token.id, method: nil, leaseMillis: 60_000).lease
            #expect(first != second && first.hasPrefix(token.id + "."))
            #expect(try await store.check(id: token.id)?.usesLeft == 0)
            #expect(try await store.check(id: token.id)?.leasesHeld == 2)
            #expect(await denial { try await store.consume(id: token.id, method: nil) } == .reserved)

            try await store.release(lease: first)
            #expect(await denial { try await store.release(lease: first) } == .unknown)
            #expect(await denial { try await store.commit(lease: first) } == .unknown)
            try await store.commit(lease: second)
            #expect(await denial { try await store.commit(lease: second) } == .unknown)
            let record = try #require(try await store.check(id: token.id))
            #expect(record.usesLeft == 1 && record.leasesHeld == 0 && record.state == .active)
            #expect(try await store.consume(id: token.id, method: nil).usesLeft == 0)
            #expect(await denial { try await store.reserve(id: token.id, method: nil, leaseMillis: 1) } == .used)
        }
    }

    @Test("at most maxLeasesHeld leases are held on one token; CONSUME still takes the free uses")
    func leasesAreBounded() async throws {
        try await TokenFixture.with { fixture in
            let store = fixture.store
            let limit = FunctionLibrary.maxLeasesHeld
            let token = try await fixture.created(uses: limit + 2)
            var leases: [String] = []
            for _ in 0..<limit {
                leases.append(try await store.reserve(id: token.id, method: nil, leaseMillis: 60_000).lease)
            }
            #expect(await denial { try await store.reserve(id: token.id, method: nil, leaseMillis: 60_000) } == .reserved)
            #expect(try await store.consume(id: token.id, method: nil).usesLeft == 1)
            try await store.release(lease: leases[0])
            _ = try await store.reserve(id: token.id, method: nil, leaseMillis: 60_000)
            #expect(try await store.check(id: token.id)?.leasesHeld == limit)
        }
    }

    @Test("malformed leases are refused before Redis", arguments: ["", "x.y", "a.b.c", "AAAAAAAAAAAAAAAAAAAAAA.short"])
    func malformedLease(lease: String) async throws {
        try await TokenFixture.with { fixture in
            #expect(await denial { try await fixture.store.commit(lease: lease) } == .err)
            #expect(await denial { try await fixture.store.release(lease: lease) } == .err)
        }
    }

    @Test("a lease that ran out gives its use back; committing it afterwards fails")
    func leaseRunsOut() async throws {
        try await TokenFixture.with(library: .pinnedClock(key: TokenFixture.clockKey)) { fixture in
            let store = fixture.store
            let token = try await fixture.created()
            let now = try fixture.redisNow()
            try fixture.pinClock(at: now)
            let lease = try await store.reserve(id: token.id, method: nil, leaseMillis: 1000).lease
            // The lease's last millisecond still holds the use.
            try fixture.pinClock(at: now + 1000)
            #expect(await denial { try await store.consume(id: token.id, method: nil) } == .reserved)
            #expect(try await store.check(id: token.id)?.usesLeft == 0)
            try fixture.pinClock(at: now + 1001)
            #expect(try await store.check(id: token.id)?.usesLeft == 1)  // read-only, yet counts it free
            #expect(await denial { try await store.commit(lease: lease) } == .unknown)
            #expect(try await store.consume(id: token.id, method: nil).usesLeft == 0)
            // The spend dropped the stale lease field.
            #expect(try fixture.server.cli("HKEYS", "test:t:{\(token.id)}").contains("L") == false)
        }
    }

    @Test("a lease on the real clock runs out by Redis TIME, with no timer")
    func leaseRunsOutOnRedisTime() async throws {
        try await TokenFixture.with { fixture in
            let token = try await fixture.created()
            let lease = try await fixture.store.reserve(id: token.id, method: nil, leaseMillis: 30).lease
            let nonce = String(lease.split(separator: ".")[1])
            let ends = try #require(Int64(try fixture.server.cli("HGET", "test:t:{\(token.id)}", "L" + nonce)))
            // Wait on Redis's own clock, not on a sleep of ours.
            #expect(await eventually(within: .seconds(5)) { ((try? fixture.redisNow()) ?? 0) > ends })
            #expect(await denial { try await fixture.store.commit(lease: lease) } == .unknown)
            #expect(try await fixture.store.consume(id: token.id, method: nil).usesLeft == 0)
        }
    }

    @Test("a lease never outlives its token")
    func leaseCappedAtExpiry() async throws {
        try await TokenFixture.with { fixture in
            let token = try await fixture.created(lifetime: 5000)
            let lease = try await fixture.store.reserve(id: token.id, method: nil, leaseMillis: 600_000).lease
            let nonce = String(lease.split(separator: ".")[1])
            #expect(try fixture.server.cli("HGET", "test:t:{\(token.id)}", "L" + nonce) == String(token.expiresAt))
        }
    }

    @Test("revoking a reserved token: commit says REVOKED, release still frees the lease")
    func revokeWhileReserved() async throws {
        try await TokenFixture.with { fixture in
            let store = fixture.store
            let token = try await fixture.created(uses: 2)
            let first = try await store.reserve(id: token.id, method: nil, leaseMillis: 60_000).lease
            let second = try await store.reserve(id: token.id, method: nil, leaseMillis: 60_000).lease
            #expect(try await store.revoke(id: token.id, by: "admin", reason: "leak"))
            #expect(await denial { try await store.commit(lease: first) } == .revoked)
            try await store.release(lease: second)
            let record = try #require(try await store.check(id: token.id))
            #expect(record.state == .revoked && record.usesLeft == 1 && record.leasesHeld == 1)
        }
    }

    @Test("consume at exactly expires_at succeeds; one millisecond later it is EXPIRED")
    func expiryBoundary() async throws {
        try await TokenFixture.with(library: .pinnedClock(key: TokenFixture.clockKey)) { fixture in
            let store = fixture.store
            let token = try await fixture.created(uses: 5)
            try fixture.pinClock(at: token.expiresAt)
            #expect(try await store.consume(id: token.id, method: nil).usesLeft == 4)
            let lease = try await store.reserve(id: token.id, method: nil, leaseMillis: 60_000).lease
            try fixture.pinClock(at: token.expiresAt + 1)
            #expect(await denial { try await store.consume(id: token.id, method: nil) } == .expired)
            #expect(await denial { try await store.reserve(id: token.id, method: nil, leaseMillis: 1) } == .expired)
            #expect(await denial { try await store.commit(lease: lease) } == .expired)
            #expect(try await store.check(id: token.id) == nil)
            #expect(try await !store.revoke(id: token.id, by: "admin", reason: ""))
        }
    }

    @Test("on the real clock the token key is gone after expires_at: consume says UNKNOWN")
    func expiryOnRedisTime() async throws {
        try await TokenFixture.with { fixture in
            let token = try await fixture.created(lifetime: 50)
            #expect(await eventually(within: .seconds(5)) { ((try? fixture.redisNow()) ?? 0) > token.expiresAt })
            #expect(await denial { try await fixture.store.consume(id: token.id, method: nil) } == .unknown)
            #expect(try fixture.server.cli("EXISTS", "test:t:{\(token.id)}") == "0")
            #expect(try await fixture.store.check(id: token.id) == nil)
        }
    }
}
