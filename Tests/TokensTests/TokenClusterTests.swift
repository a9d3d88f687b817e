import Foundation
import Redis
import Synchronization
import TestSupport
import Testing
import Tokens

@Suite("RedisTokenStore on a real Redis Cluster", .serialized)
struct TokenClusterTests {
    @Test("every operation works with tokens spread over the primaries; revocation reaches each, one event each")
    func operations() async throws {
        try await ClusterTokenFixture.with { fixture in
            let store = fixture.store
            // Consume, use up, reserve, commit, release, check.
            let three = try await fixture.created(uses: 3)
            #expect(try await store.consume(id: three.id, method: "GET").usesLeft == 2)
            let lease = try await store.reserve(id: three.id, method: "GET", leaseMillis: 60_000).lease
            #expect(try await store.check(id: three.id)?.leasesHeld == 1)
            try await store.release(lease: lease)
            let second = try await store.reserve(id: three.id, method: nil, leaseMillis: 60_000).lease
            try await store.commit(lease: second)
            #expect(await denial { try await store.commit(lease: second) } == .unknown)
            #expect(try await store.consume(id: three.id, method: nil).usesLeft == 0)
            #expect(await denial { try await store.consume(id: three.id, method: nil) } == .used)
            #expect(try await store.check(id: three.id)?.state == .spent)
            #expect(await denial { try await store.consume(id: randomTokenID(), method: nil) } == .unknown)
            #expect(try await store.check(id: randomTokenID()) == nil)
            #expect(await denial { try await store.create(three) } == .exists)

            // A subscriber on a node that holds neither the tokens nor the stream: PUBLISH reaches it.
            let streamOwner = try fixture.owner(of: "test:events")
            let listener = try #require(fixture.cluster.servers.first { $0.port != streamOwner.port })
            let subscriber = try Subscriber(port: listener.port, channel: "test:invalidations")
            defer { subscriber.stop() }
            #expect(
                await eventually(within: .seconds(5)) {
                    (try? listener.cli("PUBSUB", "NUMSUB", "test:invalidations").hasSuffix("1")) == true
                })

            let single = try await fixture.created()
            var tagged: [NewToken] = []
            for index in 0..<8 {
                tagged.append(try await fixture.created(tags: index % 2 == 0 ? ["campaign"] : ["x", "campaign"]))
            }
            var object: [NewToken] = []
            for index in 0..<8 { object.append(try await fixture.created(uses: 1 + index % 2, key: "doc.pdf")) }
            let otherObject = try await fixture.created(key: "doc.pdf.bak", tags: ["x"])
            let spent = try await fixture.created(key: "doc.pdf", tags: ["campaign"])
            _ = try await store.consume(id: spent.id, method: nil)
            // The tokens of each set live on more than one primary, so this is a cross-slot revocation.
            for set in [tagged, object] {
                let owners = try Set(set.map { try fixture.owner(of: "test:t:{\($0.id)}").port })
                #expect(owners.count >= 2)
            }

            #expect(try await store.revoke(id: single.id, by: "admin", reason: "said \"no\"\n"))
            #expect(try await !store.revoke(id: single.id, by: "admin", reason: "again"))
            #expect(try await store.revokeTag("campaign", by: "ops", reason: "ended") == 8)
            #expect(try await store.revokeTag("campaign", by: "ops", reason: "ended") == 0)
            #expect(try await store.revokeObject(bucket: "photos", key: "doc.pdf", by: "ops", reason: "gdpr") == 8)
            #expect(try await store.revokeObject(bucket: "photos", key: "doc.pdf", by: "ops", reason: "gdpr") == 0)
            for token in [single] + tagged + object {
                #expect(try await store.check(id: token.id)?.state == .revoked)
                #expect(await denial { try await store.consume(id: token.id, method: nil) } == .revoked)
            }
            #expect(try await store.check(id: otherObject.id)?.state == .active)
            #expect(try await store.check(id: spent.id)?.state == .spent)
            // Revoked and spent members left their sets; the one still active stayed in its own.
            let objectSet = try store.keyspace.object(bucket: "photos", key: "doc.pdf")
            #expect(try fixture.owner(of: objectSet).cli("ZCARD", objectSet) == "0")
            #expect(try fixture.owner(of: "test:gz:{campaign}").cli("ZCARD", "test:gz:{campaign}") == "0")
            #expect(try fixture.owner(of: "test:gz:{x}").cli("ZRANGE", "test:gz:{x}", "0", "-1").contains(otherObject.id))

            // One event per revoked token, in the stream on its slot's owner and on the channel.
            let streamed = try streamOwner.cli("XRANGE", "test:events", "-", "+").split(separator: "\n")
                .filter { $0.hasPrefix("{") }.map(String.init)
            let ids = try streamed.map {
                try #require((JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["id"] as? String)
            }
            #expect(ids.count == 17)
            #expect(Set(ids) == Set(([single] + tagged + object).map(\.id)))
            #expect(streamed[0].hasPrefix(#"{"event":"revoked","id":"\#(single.id)","bucket":"photos","key":"#))
            try listener.cli("PUBLISH", "test:invalidations", "end")
            #expect(await eventually(within: .seconds(5)) { subscriber.output().contains("\nend") })
            let published = subscriber.output().split(separator: "\n").filter { $0.hasPrefix("{") }.map(String.init)
            #expect(published.sorted() == streamed.sorted())
        }
    }

    @Test("an index entry is written before its token, and a set revocation keeps ids whose token is not there yet")
    func indexBeforeToken() async throws {
        try await ClusterTokenFixture.with { fixture in
            let store = fixture.store
            // What a create cut short after its index calls leaves: an id in the set, no token.
            let orphan = randomTokenID()
            let set = "test:gz:{late}"
            try fixture.owner(of: set).cli(
                "FCALL", FunctionLibrary.standard.name + "_index_add", "1", set, orphan,
                String(Int64(Date().timeIntervalSince1970 * 1000) + 600_000))
            #expect(try await store.revokeTag("late", by: "ops", reason: "") == 0)
            #expect(try fixture.owner(of: set).cli("ZSCORE", set, orphan) != "")
            // An expiry in the past writes nothing (it would delete the whole set).
            #expect(
                try fixture.owner(of: set).cli("FCALL", FunctionLibrary.standard.name + "_index_add", "1", set, randomTokenID(), "1")
                    .contains("EXPIRED"))
            #expect(try fixture.owner(of: set).cli("ZCARD", set) == "1")
        }
    }

    @Test("each index entry added drops a few ids of tokens long expired from its set, without reading a token")
    func indexSetsArePruned() async throws {
        try await ClusterTokenFixture.with { fixture in
            let tagSet = try fixture.store.keyspace.tag("busy")
            let objectSet = try fixture.store.keyspace.object(bucket: "photos", key: "users/1/avatar.png")
            // What twenty URLs left behind that expired two minutes ago, and one that expired just now
            // (within the grace: kept), on one tag and one object.
            let now = try fixture.now()
            let recent = randomTokenID()
            for set in [tagSet, objectSet] {
                let owner = try fixture.owner(of: set)
                for _ in 0..<20 { try owner.cli("ZADD", set, String(now - 120_000), randomTokenID()) }
                try owner.cli("ZADD", set, String(now - 1), recent)
            }
            var live: Set<String> = [recent]
            for _ in 0..<30 { live.insert(try await fixture.created(tags: ["busy"]).id) }
            // Up to pruneBatch a create: after thirty, none of the twenty is left; every live id is.
            for set in [tagSet, objectSet] {
                let members = try fixture.owner(of: set).cli("ZRANGE", set, "0", "-1").split(separator: "\n")
                #expect(Set(members.map(String.init)) == live, "\(set)")
            }
        }
    }

    @Test("REVOKE TAG and OBJECT also revoke URLs that a v4 daemon indexed in its plain sets")
    func revokeLegacyPlainSets() async throws {
        try await ClusterTokenFixture.with { fixture in
            let store = fixture.store
            // A v4 daemon leaves the same token hash and the id in a plain set under the old name:
            // made here by moving ids out of the sorted sets.
            func asIssuedByV4(_ token: NewToken) throws {
                for tag in token.tags {
                    let (sorted, plain) = (try store.keyspace.tag(tag), try store.keyspace.legacyTag(tag))
                    try fixture.owner(of: sorted).cli("ZREM", sorted, token.id)
                    try fixture.owner(of: plain).cli("SADD", plain, token.id)
                }
                let sorted = try store.keyspace.object(bucket: token.bucket, key: token.key)
                let plain = try store.keyspace.legacyObject(bucket: token.bucket, key: token.key)
                try fixture.owner(of: sorted).cli("ZREM", sorted, token.id)
                try fixture.owner(of: plain).cli("SADD", plain, token.id)
            }
            var old: [NewToken] = []
            for _ in 0..<6 { old.append(try await fixture.created(tags: ["campaign"])) }
            for token in old { try asIssuedByV4(token) }
            let new = try await fixture.created(tags: ["campaign"])
            let oldObject = try await fixture.created(key: "doc.pdf")
            try asIssuedByV4(oldObject)

            #expect(try await store.revokeTag("campaign", by: "ops", reason: "ended") == 7)
            #expect(try await store.revokeObject(bucket: "photos", key: "doc.pdf", by: "ops", reason: "") == 1)
            for token in old + [new, oldObject] {
                #expect(try await store.check(id: token.id)?.state == .revoked)
            }
            let plain = try store.keyspace.legacyTag("campaign")
            #expect(try fixture.owner(of: plain).cli("EXISTS", plain) == "0")
        }
    }

    @Test("a tag on more than one batch of tokens is read with ZSCAN: each token revoked once, one event each")
    func revokeLargeTag() async throws {
        try await ClusterTokenFixture.with { fixture in
            let count = RedisTokenStore.revokeBatch + 120
            let ids = try await fixture.createMany(count, tags: ["bulk"]) { _ in true }
            let set = "test:gz:{bulk}"
            let setOwner = try fixture.owner(of: set)
            try setOwner.cli("CONFIG", "RESETSTAT")
            // Two revocations of the same tag at once: a member both revoke (as when ZSCAN returns
            // one twice) is revoked, counted and announced once.
            async let first = fixture.store.revokeTag("bulk", by: "ops", reason: "ended")
            async let second = fixture.store.revokeTag("bulk", by: "ops", reason: "ended")
            #expect(try await first + second == count)
            #expect(try setOwner.cli("ZCARD", set) == "0")
            // The set was read in batches (at least two ZSCANs for the first revocation), never whole.
            let stats = try setOwner.cli("INFO", "commandstats")
            #expect(!stats.contains("cmdstat_smembers:"))
            let scans = try #require(
                stats.split(whereSeparator: \.isNewline).first { $0.hasPrefix("cmdstat_zscan:calls=") }?
                    .dropFirst("cmdstat_zscan:calls=".count).prefix { $0.isNumber })
            #expect(try #require(Int(scans)) >= 3)
            for id in [ids.first!, ids.last!] {
                #expect(try await fixture.store.check(id: id)?.state == .revoked)
            }
            let streamed = try fixture.owner(of: "test:events").cli("XRANGE", "test:events", "-", "+")
                .split(separator: "\n").filter { $0.hasPrefix("{") }
            let announced = try streamed.map {
                try #require((JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["id"] as? String)
            }
            #expect(announced.count == count)
            #expect(Set(announced) == Set(ids))
        }
    }

    @Test("REVOKE TAG while the tag set's slot moves to another primary: every token is still revoked, once")
    func revokeWhileTheSetMoves() async throws {
        try await ClusterTokenFixture.with { fixture in
            let set = "test:gz:{moving}"
            let slot = String(RedisKeySlot.slot(of: set))
            let primaries = try fixture.cluster.primaries()
            let source = try fixture.owner(of: set)
            let sourceID = try #require(primaries.first { $0.port == source.port }).id
            let targetID = try #require(primaries.first { $0.port != source.port }).id
            let target = try #require(fixture.cluster.servers.first { $0.port == primaries.first { $0.id == targetID }?.port })
            let count = 6 * RedisTokenStore.revokeBatch
            let ids = try await fixture.createMany(count, tags: ["moving"]) { _ in true }

            async let revoked = fixture.store.revokeTag("moving", by: "ops", reason: "moved")
            // Once the first batch is revoked (the set shrank), the set's slot moves while the
            // revocation goes on: the ZSCAN cursor of the old node then runs on the new node's table.
            let deadline = ContinuousClock.now + .seconds(20)
            while (Int(try source.cli("ZCARD", set)) ?? count) > count - RedisTokenStore.revokeBatch {
                try #require(ContinuousClock.now < deadline, "the revocation never started")
                try await Task.sleep(for: .milliseconds(2))
            }
            try target.cli("CLUSTER", "SETSLOT", slot, "IMPORTING", sourceID)
            try source.cli("CLUSTER", "SETSLOT", slot, "MIGRATING", targetID)
            while case let keys = try source.cli("CLUSTER", "GETKEYSINSLOT", slot, "100").split(separator: "\n"),
                !keys.isEmpty
            {
                try source.cli(
                    arguments: ["MIGRATE", "127.0.0.1", String(target.port), "", "0", "5000", "KEYS"] + keys.map(String.init))
            }
            for server in fixture.cluster.servers where primaries.contains(where: { $0.port == server.port }) {
                try server.cli("CLUSTER", "SETSLOT", slot, "NODE", targetID)
            }

            #expect(try await revoked == count)
            #expect(try target.cli("ZCARD", set) == "0")
            var notRevoked = 0
            for id in ids where try await fixture.store.check(id: id)?.state != .revoked { notRevoked += 1 }
            #expect(notRevoked == 0)
            let streamed = try fixture.owner(of: "test:events").cli("XLEN", "test:events")
            #expect(streamed == String(count))
        }
    }

    @Test("a resharding under load loses no consume and allows no double use")
    func reshardingUnderLoad() async throws {
        try await ClusterTokenFixture.with { fixture in
            let primaries = try fixture.cluster.primaries()
            let source = try #require(primaries.first)
            let target = try #require(primaries.last)
            // Tokens on the source's slots only, so that the moved slots carry many.
            let ids = try await fixture.createMany(1000) { slot in source.slots.contains { $0.contains(slot) } }
            let reshard = Background([
                "--cluster", "reshard", "127.0.0.1:\(fixture.cluster.servers[0].port)", "--cluster-from", source.id,
                "--cluster-to", target.id, "--cluster-slots", "1000", "--cluster-yes", "--cluster-pipeline", "10",
            ])
            let results = try await Self.consumeAll(ids, fixture: fixture, until: { _ in reshard.isDone })
            let status = await reshard.status()
            #expect(status == 0)
            try await fixture.cluster.waitUntilHealthy()
            let moved = try #require(try fixture.cluster.primaries().first { $0.id == target.id })
            #expect(moved.slots.reduce(0) { $0 + $1.count } >= 5461 + 1000)
            try await Self.verify(results, ids: ids, store: fixture.store)
        }
    }

    @Test("a primary killed with -9: its replica takes over, the client recovers, no consumed token is usable again")
    func primaryKilled() async throws {
        try await ClusterTokenFixture.with { fixture in
            let ids = try await fixture.createMany(900) { _ in true }
            let victim = try fixture.owner(of: "test:t:{\(ids[0])}")
            let victimSlots = try #require(try fixture.cluster.primaries().first { $0.port == victim.port }?.slots)
            let onVictim = { @Sendable (slot: Int) in victimSlots.contains { $0.contains(slot) } }
            let killed = Flag()
            // The kill lands while consumes are in flight, a third of the way through.
            let results = try await Self.consumeAll(
                ids, fixture: fixture,
                until: { tried in
                    if tried >= ids.count / 3 && !killed.isSet {
                        killed.set()
                        Thread { victim.kill9() }.start()
                    }
                    return killed.isSet
                })
            #expect(results.values.contains { $0.denials.contains(.unavailable) })
            // The replica is promoted and the client finds it by itself: the old primary's tokens
            // answer again.
            try await fixture.cluster.waitUntilHealthy()
            let probe = try #require(ids.first { onVictim(RedisKeySlot.slot(of: "test:t:{\($0)}")) })
            #expect(await eventually(within: .seconds(30)) { (try? await fixture.store.check(id: probe)) != nil })
            // Writes there wait for a replica (WAIT 1), and the new primary has none until the old
            // one comes back as its replica; then a new token on those slots is created and consumed.
            try await fixture.cluster.restart(victim)
            try await fixture.cluster.waitUntilHealthy()
            let recovered = await eventually(within: .seconds(30)) {
                guard let fresh = try? await fixture.createMany(1, where: onVictim).first else { return false }
                return (try? await fixture.store.consume(id: fresh, method: nil))?.usesLeft == 0
            }
            #expect(recovered)
            try await Self.verify(results, ids: ids, store: fixture.store)
        }
    }

    // MARK: Load

    /// What each token's consumes gave: successes and denials by code.
    struct Outcome: Sendable {
        var successes = 0
        var denials: [TokenError.Code] = []
    }

    /// Four gateways (a client each) consume every token at once, in waves of ten tokens a few
    /// milliseconds apart, so the load spans what happens meanwhile. `until` is told after each wave
    /// how many tokens were tried; once all were, waves start over (on spent tokens) until it says true.
    static func consumeAll(
        _ ids: [String], fixture: ClusterTokenFixture, until done: @Sendable (Int) async -> Bool
    ) async throws -> [String: Outcome] {
        let clients = (0..<4).map { _ in ClusterTokenFixture.makeClient(fixture.cluster) }
        for client in clients { try await client.waitUntilConnected() }
        let stores = try clients.map {
            RedisTokenStore(client: $0, keyspace: try TokenKeyspace(prefix: "test:"), logger: quietLogger)
        }
        var results: [String: Outcome] = [:]
        var next = 0
        var finished = false
        while !finished {
            let wave = Array(ids[next..<min(next + 10, ids.count)])
            next += wave.count
            await withTaskGroup(of: (String, TokenError.Code?).self) { group in
                for id in wave {
                    for store in stores {
                        group.addTask { (id, await denial { try await store.consume(id: id, method: "GET") }) }
                    }
                }
                for await (id, outcome) in group {
                    if let outcome {
                        results[id, default: Outcome()].denials.append(outcome)
                    } else {
                        results[id, default: Outcome()].successes += 1
                    }
                }
            }
            let external = await done(next)
            if next >= ids.count {
                finished = external
                // Waves keep coming (on tokens already spent) until the outside work is over.
                next = 0
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        for client in clients { await client.shutdown() }
        return results
    }

    /// No token consumed twice; every acknowledged consume still holds; a token whose consumes all
    /// failed as unavailable may have gone either way, but only one way.
    static func verify(_ results: [String: Outcome], ids: [String], store: RedisTokenStore) async throws {
        #expect(results.count == ids.count)
        var acknowledged = 0
        for id in ids {
            let outcome = try #require(results[id])
            #expect(outcome.successes <= 1, "token \(id) consumed \(outcome.successes) times")
            #expect(outcome.denials.allSatisfy { $0 == .used || $0 == .unavailable }, "token \(id): \(outcome.denials)")
            let state = try await store.check(id: id)?.state
            if outcome.successes == 1 {
                acknowledged += 1
                #expect(state == .spent, "acknowledged consume of \(id) lost")
                #expect(await denial { try await store.consume(id: id, method: nil) } == .used)
            }
        }
        #expect(acknowledged > ids.count / 2)
    }

    /// `redis-cli` running on a thread of its own, so the test keeps consuming meanwhile.
    final class Background: Sendable {
        private let done = Flag()
        private let result = Mutex<Int32?>(nil)

        init(_ arguments: [String]) {
            Thread { [self] in
                let status = (try? RedisClusterFixture.redisCLI(arguments).status) ?? -1
                result.withLock { $0 = status }
                done.set()
            }.start()
        }

        var isDone: Bool { done.isSet }

        func status() async -> Int32 {
            while !done.isSet { try? await Task.sleep(for: .milliseconds(20)) }
            return result.withLock { $0 ?? -1 }
        }
    }
}

/// A one-way switch shared between tasks and threads.
final class Flag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
