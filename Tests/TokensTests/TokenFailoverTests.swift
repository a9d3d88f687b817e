import NIOPosix
import Redis
import Synchronization
import TestSupport
import Testing
import Tokens

/// One-time tokens through a Sentinel failover: the primary is killed while consumes stream in.
@Suite("RedisTokenStore across a Sentinel failover")
struct TokenFailoverTests {
    /// What one consume answered.
    enum Outcome: Hashable {
        case allowed
        case used
        case unavailable
        case other(TokenError.Code)
    }

    @Test(
        "kill -9 of the primary mid-stream: answers stay ok/used/unavailable, the store recovers by itself, no acknowledged consume is allowed again",
        arguments: [Duration?.none, .milliseconds(500)])
    func killPrimaryDuringConsumes(waitReplicas: Duration?) async throws {
        let set = try await RedisSentinelSet.start(
            primaryConfig: ["min-replicas-to-write 1", "min-replicas-max-lag 10"],
            serverConfig: ["appendonly yes", "appendfsync always"])
        defer { set.stop() }
        var configuration = RedisConfiguration(
            endpoint: .sentinel(
                RedisSentinelConfiguration(
                    sentinels: set.sentinelPorts.map { .tcp(host: "127.0.0.1", port: $0) },
                    masterName: RedisSentinelSet.masterName)))
        configuration.connectTimeout = .seconds(10)
        configuration.connectionCount = 2
        if let waitReplicas {
            configuration.replicaAcknowledgements = 1
            configuration.replicaTimeout = waitReplicas
        }
        let client = RedisClient(
            configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: quietLogger)
        let store = RedisTokenStore(
            client: client, keyspace: try TokenKeyspace(prefix: "failover:"), logger: quietLogger)
        try await client.waitUntilConnected()
        try await store.prepare()
        let old = try set.primary()
        #expect(old === set.servers[0])

        let now = Int64(try old.cli("TIME").split(separator: "\n")[0])! * 1000
        var ids: [String] = []
        for _ in 0..<1500 {
            let token = NewToken(
                id: randomTokenID(), method: "GET", bucket: "b", key: "k", profile: "default", uses: 1, issuedAt: now,
                expiresAt: now + 600_000, issuer: "test", tags: [])
            try await store.create(token)
            ids.append(token.id)
        }

        // Four consumers walk the tokens; the primary dies once 300 consumes were acknowledged.
        let progress = Progress()
        let tokens = ids
        let outcomes = try await withThrowingTaskGroup(of: [(String, Outcome)].self) { group in
            for lane in 0..<4 {
                group.addTask {
                    var mine: [(String, Outcome)] = []
                    var stopAt: ContinuousClock.Instant?
                    for index in stride(from: lane, to: tokens.count, by: 4) {
                        // Six seconds past the kill cover the failover (about 2 s) and some after it;
                        // the tokens left are not tried.
                        if let stopAt, ContinuousClock.now > stopAt { break }
                        let outcome = await Self.consume(store, tokens[index])
                        mine.append((tokens[index], outcome))
                        if outcome == .allowed, progress.acknowledged.add(1, ordering: .relaxed).newValue == 300,
                            !progress.killed.exchange(true, ordering: .relaxed)
                        {
                            old.kill9()
                        }
                        // Spread the stream over the failover instead of failing fast through it.
                        if progress.killed.load(ordering: .relaxed) {
                            if stopAt == nil { stopAt = .now + .seconds(6) }
                            try await Task.sleep(for: .milliseconds(25))
                        }
                    }
                    return mine
                }
            }
            var all: [(String, Outcome)] = []
            for try await lane in group { all += lane }
            return all
        }
        #expect(progress.killed.load(ordering: .relaxed) == true)
        for (id, outcome) in outcomes where ![.allowed, .used, .unavailable].contains(outcome) {
            Issue.record("token \(id) answered \(outcome)")
        }
        let promoted = try await set.waitForFailover(from: old)
        #expect(promoted === set.servers[1])

        // The same store, never restarted, serves again once the client found the new primary.
        func fresh() -> NewToken {
            NewToken(
                id: randomTokenID(), method: "GET", bucket: "b", key: "k", profile: "default", uses: 1, issuedAt: now,
                expiresAt: now + 600_000, issuer: "test", tags: [])
        }
        // Each connection finds the new primary on its own schedule (its backoff), so this waits
        // until a create and a consume both went through.
        func serves() async -> Bool {
            await eventually(within: .seconds(20)) {
                let token = fresh()
                guard (try? await store.create(token)) != nil else { return false }
                return (try? await store.consume(id: token.id, method: nil))?.usesLeft == 0
            }
        }
        if waitReplicas == nil {
            #expect(await serves())
        } else {
            // Reads need no replica: once one answers, the client is on the new primary.
            #expect(
                await eventually(within: .seconds(20)) {
                    do {
                        _ = try await store.check(id: fresh().id)
                        return true
                    } catch {
                        return false
                    }
                })
            // The new primary has no replica yet: no write can be confirmed, so none counts.
            #expect(await denial { try await store.create(fresh()) } == .unavailable)
            // The old primary comes back, Sentinel makes it a replica, and consumes are allowed again.
            try await set.restart(old)
            try await set.waitUntilReplicated()
            #expect(await serves())
        }

        // Every consume that was acknowledged must be spent on the new primary, or the token can be
        // used twice. Replication is asynchronous: without WAIT a consume the old primary acknowledged
        // just before it died can be missing on the promoted replica (seen here: 2 of ~800 under
        // load), so only the WAIT variant can promise this; the other one reports what it saw.
        let allowed = outcomes.filter { $0.1 == .allowed }.map(\.0)
        var replayed = 0
        for id in allowed where await Self.consume(store, id) == .allowed { replayed += 1 }
        if waitReplicas != nil {
            #expect(replayed == 0, "\(replayed) of \(allowed.count) acknowledged consumes were allowed again")
        }
        let counts = Dictionary(grouping: outcomes, by: { "\($0.1)" }).mapValues(\.count).sorted { $0.key < $1.key }
        print(
            "failover consumes (WAIT \(waitReplicas.map { "\($0)" } ?? "off")): \(counts), acknowledged then allowed again: \(replayed)"
        )
        await client.shutdown()
    }

    static func consume(_ store: RedisTokenStore, _ id: String) async -> Outcome {
        do {
            _ = try await store.consume(id: id, method: nil)
            return .allowed
        } catch {
            switch error.code {
            case .used: return .used
            case .unavailable: return .unavailable
            default: return .other(error.code)
            }
        }
    }

    /// Shared by the consumer tasks.
    final class Progress: Sendable {
        let acknowledged = Atomic<Int>(0)
        let killed = Atomic<Bool>(false)
    }
}
