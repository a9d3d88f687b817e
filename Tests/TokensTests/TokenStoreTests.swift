import Redis
import TestSupport
import Testing
import Tokens

@Suite("RedisTokenStore: create, consume, check, denials")
struct TokenStoreTests {
    @Test("create stores the record CHECK reports, with PROTOCOL names and all fields")
    func createThenCheck() async throws {
        try await TokenFixture.with { fixture in
            let token = try await fixture.created(uses: 3, tags: ["red", "blue"])
            let record = try #require(try await fixture.store.check(id: token.id))
            #expect(
                record
                    == TokenRecord(
                        id: token.id, state: .active, usesLeft: 3, usesMax: 3, leasesHeld: 0, method: "GET",
                        bucket: "photos", key: "users/1/avatar.png", profile: "default", issuedAt: token.issuedAt,
                        expiresAt: token.expiresAt, issuer: "svc-upload", tags: ["red", "blue"]))
            let raw = try fixture.server.cli("FCALL_RO", FunctionLibrary.standard.name + "_check", "1", "test:t:{\(token.id)}")
            let names = raw.split(separator: "\n").enumerated().filter { $0.offset % 2 == 0 }.map { String($0.element) }
            #expect(
                names == [
                    "state", "uses_left", "uses_max", "method", "bucket", "key", "expires_at", "issued_at", "issuer",
                    "tags", "profile", "leases",
                ])
        }
    }

    @Test("a typical token hash stays compact (listpack, short field names)")
    func memoryPerToken() async throws {
        try await TokenFixture.with(prefix: "presign:") { fixture in
            let token = try await fixture.created()
            let bytes = try #require(Int(try fixture.server.cli("MEMORY", "USAGE", "presign:t:{\(token.id)}")))
            #expect(bytes <= 250)
            #expect(try fixture.server.cli("OBJECT", "ENCODING", "presign:t:{\(token.id)}") == "listpack")
        }
    }

    @Test("create refuses an existing id, a past expiry and malformed input, writing nothing")
    func createRefusals() async throws {
        try await TokenFixture.with { fixture in
            let token = try await fixture.created()
            #expect(await denial { try await fixture.store.create(token) } == .exists)
            var past = try fixture.newToken()
            past.expiresAt = past.issuedAt - 1
            #expect(await denial { try await fixture.store.create(past) } == .expired)
            #expect(try fixture.server.cli("EXISTS", "test:t:{\(past.id)}") == "0")

            let malformed: [(inout NewToken) -> Void] = [
                { $0.id = "short" }, { $0.id = String(repeating: "a", count: 21) + "+" }, { $0.uses = 0 },
                { $0.uses = 1_000_001 }, { $0.method = "get" }, { $0.bucket = "a{b}" }, { $0.bucket = "a/b" },
                { $0.key = "" }, { $0.tags = ["a,b"] }, { $0.tags = ["x", "x"] }, { $0.issuer = "a\nb" },
            ]
            for change in malformed {
                var bad = try fixture.newToken()
                change(&bad)
                #expect(await denial { try await fixture.store.create(bad) } == .err)
            }
            // The first token and its object set, nothing else.
            #expect(try fixture.server.cli("DBSIZE") == "2")
        }
    }

    @Test("the token hash and its index sets expire exactly at expires_at; a set's TTL only grows")
    func expiryTimes() async throws {
        try await TokenFixture.with { fixture in
            let late = try await fixture.created(lifetime: 900_000, tags: ["red"])
            let early = try await fixture.created(lifetime: 300_000, tags: ["red", "blue"])
            let cli = fixture.server
            #expect(try cli.cli("PEXPIRETIME", "test:t:{\(late.id)}") == String(late.expiresAt))
            #expect(try cli.cli("PEXPIRETIME", "test:t:{\(early.id)}") == String(early.expiresAt))
            let objectSet = try fixture.store.keyspace.object(bucket: "photos", key: "users/1/avatar.png")
            #expect(try cli.cli("PEXPIRETIME", objectSet) == String(late.expiresAt))
            #expect(try cli.cli("PEXPIRETIME", "test:gz:{red}") == String(late.expiresAt))
            #expect(try cli.cli("PEXPIRETIME", "test:gz:{blue}") == String(early.expiresAt))
            // Each id is scored by its token's expiry.
            #expect(try cli.cli("ZRANGE", objectSet, "0", "-1", "WITHSCORES") == "\(early.id)\n\(early.expiresAt)\n\(late.id)\n\(late.expiresAt)")
        }
    }

    @Test("each create drops a few ids of tokens that expired over the grace ago from its index sets")
    func indexSetsArePruned() async throws {
        try await TokenFixture.with(library: .pinnedClock(key: TokenFixture.clockKey)) { fixture in
            let now = try fixture.redisNow()
            try fixture.pinClock(at: now)
            func create(lifetime: Int64) async throws -> String {
                let token = TokenFixture.token(now: now, lifetime: lifetime, tags: ["busy"])
                try await fixture.store.create(token)
                return token.id
            }
            // One id that keeps the sets alive, twenty that expire at now + 1 s, all on one tag and one object.
            var live = [try await create(lifetime: 600_000)]
            for _ in 0..<20 { _ = try await create(lifetime: 1_000) }
            let objectSet = try fixture.store.keyspace.object(bucket: "photos", key: "users/1/avatar.png")
            func members(_ set: String) throws -> Set<String> {
                Set(try fixture.server.cli("ZRANGE", set, "0", "-1").split(separator: "\n").map(String.init))
            }
            // Expired, but not yet by the grace: kept.
            let grace = Int64(FunctionLibrary.pruneGraceMillis)
            try fixture.pinClock(at: now + 1_000 + grace)
            live.append(try await create(lifetime: 600_000))
            #expect(try members("test:gz:{busy}").count == 22)
            // One millisecond later each create drops up to pruneBatch of them, and none of the live ids.
            try fixture.pinClock(at: now + 1_000 + grace + 1)
            live.append(try await create(lifetime: 600_000))
            #expect(try members("test:gz:{busy}").count == 23 - FunctionLibrary.pruneBatch)
            for _ in 0..<30 { live.append(try await create(lifetime: 600_000)) }
            for set in ["test:gz:{busy}", objectSet] { #expect(try members(set) == Set(live), "\(set)") }
        }
    }

    @Test("object set names hash the key with SHA-256 (FIPS 180-4 vectors)")
    func objectSetNames() throws {
        let keyspace = try TokenKeyspace(prefix: "p:")
        #expect(
            try keyspace.object(bucket: "b", key: "abc")
                == "p:oz:{b/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad}")
        #expect(
            try keyspace.legacyObject(bucket: "b", key: "abc")
                == "p:o:{b/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad}")
        #expect(try keyspace.tag("red") == "p:gz:{red}")
        #expect(try keyspace.legacyTag("red") == "p:g:{red}")
        let long = String(repeating: "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", count: 1)
        #expect(
            try keyspace.object(bucket: "b", key: long)
                == "p:oz:{b/248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1}")
        #expect(throws: TokenError.self) { try TokenKeyspace(prefix: "a{b}") }
    }

    @Test("consume spends one use at a time and reports the uses left; then USED")
    func nUses() async throws {
        try await TokenFixture.with { fixture in
            let token = try await fixture.created(uses: 3)
            #expect(try await fixture.store.consume(id: token.id, method: "GET").usesLeft == 2)
            #expect(try await fixture.store.consume(id: token.id, method: nil).usesLeft == 1)
            #expect(try await fixture.store.consume(id: token.id, method: "GET").usesLeft == 0)
            #expect(await denial { try await fixture.store.consume(id: token.id, method: "GET") } == .used)
            let record = try #require(try await fixture.store.check(id: token.id))
            #expect(record.state == .spent && record.usesLeft == 0)
            // The tombstone keeps its TTL: a write never drops it.
            #expect(try fixture.server.cli("PEXPIRETIME", "test:t:{\(token.id)}") == String(token.expiresAt))
        }
    }

    enum Situation: String, CaseIterable {
        case missing, wrongMethod, spent, revoked, heldByLease, malformedID
    }

    @Test("consume and reserve deny with the PROTOCOL code", arguments: Situation.allCases)
    func denials(situation: Situation) async throws {
        try await TokenFixture.with { fixture in
            let store = fixture.store
            let token = try await fixture.created()
            var id = token.id
            var method = "GET"
            let expected: TokenError.Code
            switch situation {
            case .missing:
                id = randomTokenID()
                expected = .unknown
            case .wrongMethod:
                method = "PUT"
                expected = .mismatch
            case .spent:
                _ = try await store.consume(id: id, method: nil)
                expected = .used
            case .revoked:
                #expect(try await store.revoke(id: id, by: "admin", reason: "test"))
                expected = .revoked
            case .heldByLease:
                _ = try await store.reserve(id: id, method: nil, leaseMillis: 60_000)
                expected = .reserved
            case .malformedID:
                id = "not/an/id"
                expected = .err
            }
            let before = try fixture.server.cli("HGETALL", "test:t:{\(token.id)}")
            let keys = try fixture.server.cli("DBSIZE")
            #expect(await denial { try await store.consume(id: id, method: method) } == expected)
            #expect(await denial { try await store.reserve(id: id, method: method, leaseMillis: 1000) } == expected)
            // A denial changes nothing.
            #expect(try fixture.server.cli("HGETALL", "test:t:{\(token.id)}") == before)
            #expect(try fixture.server.cli("DBSIZE") == keys)
        }
    }

    @Test("check of an unknown id is nil; revoke of an unknown or spent id is false")
    func unknownAndInactive() async throws {
        try await TokenFixture.with { fixture in
            #expect(try await fixture.store.check(id: randomTokenID()) == nil)
            #expect(try await !fixture.store.revoke(id: randomTokenID(), by: "admin", reason: ""))
            let token = try await fixture.created()
            _ = try await fixture.store.consume(id: token.id, method: nil)
            #expect(try await !fixture.store.revoke(id: token.id, by: "admin", reason: ""))
            #expect(try fixture.server.cli("EXISTS", "test:events") == "0")
        }
    }

    @Test("readiness loads the library again when the one under its name is another build's, without its permissions function")
    func readinessReloadsAnotherBuild() async throws {
        try await TokenFixture.with { fixture in
            let library = FunctionLibrary.standard
            let registration = "redis.register_function{function_name = '\(library.name)_permissions'"
            let cut = try #require(library.source.range(of: registration))
            let other = String(library.source[..<cut.lowerBound])
            #expect(try await fixture.client.send(["FUNCTION", "LOAD", "REPLACE", other]).string == library.name)
            try await fixture.store.ready()
            let listed = try fixture.server.cli("FUNCTION", "LIST", "LIBRARYNAME", library.name)
            #expect(listed.contains("\(library.name)_permissions"))
        }
    }

    @Test("a server that lost the library gets it again on the first call, which then runs once")
    func reloadsLibrary() async throws {
        try await TokenFixture.with { fixture in
            let token = try await fixture.created(uses: 2)
            try fixture.server.cli("FUNCTION", "FLUSH")
            #expect(try await fixture.store.consume(id: token.id, method: nil).usesLeft == 1)
            #expect(try fixture.server.cli("FUNCTION", "LIST").contains(FunctionLibrary.standard.name))
        }
    }
}
