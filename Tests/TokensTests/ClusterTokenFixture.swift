import Logging
import NIOPosix
import Redis
import TestSupport
import Testing
import Tokens

/// A private Redis Cluster (three primaries, three replicas), a cluster client and a
/// `RedisTokenStore` on it, under the prefix `test:`. Writes wait for one replica (`WAIT 1`), as a
/// deployment that must survive a primary's crash runs it.
struct ClusterTokenFixture {
    let cluster: RedisClusterFixture
    let client: RedisClusterClient
    let store: RedisTokenStore

    static func with(_ body: (ClusterTokenFixture) async throws -> Void) async throws {
        let cluster = try await RedisClusterFixture.start()
        let client = makeClient(cluster)
        let store = RedisTokenStore(client: client, keyspace: try TokenKeyspace(prefix: "test:"), logger: quietLogger)
        let fixture = ClusterTokenFixture(cluster: cluster, client: client, store: store)
        do {
            try await client.waitUntilConnected()
            try await store.prepare()
            try await body(fixture)
        } catch {
            await fixture.stop()
            throw error
        }
        await fixture.stop()
    }

    /// A client of its own, seeded with one node; generous timeouts, since correctness is under test
    /// on a loaded two-core machine, not speed.
    static func makeClient(_ cluster: RedisClusterFixture) -> RedisClusterClient {
        var node = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: 0))
        node.connectTimeout = .seconds(10)
        node.commandTimeout = .seconds(10)
        node.connectionCount = 1
        var configuration = RedisClusterConfiguration(
            seeds: cluster.servers.prefix(2).map { .tcp(host: "127.0.0.1", port: $0.port) }, node: node)
        configuration.node.replicaAcknowledgements = 1
        configuration.node.replicaTimeout = .seconds(1)
        return RedisClusterClient(
            configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: quietLogger)
    }

    func stop() async {
        await client.shutdown()
        cluster.stop()
    }

    /// The node holding `key`'s slot, as a primary.
    func owner(of key: String) throws -> RedisServer {
        try cluster.primary(forSlot: RedisKeySlot.slot(of: key))
    }

    /// Creates a token valid for ten minutes from a node's clock.
    func created(uses: Int = 1, key: String = "users/1/avatar.png", tags: [String] = []) async throws -> NewToken {
        let token = TokenFixture.token(now: try now(), uses: uses, key: key, tags: tags)
        try await store.create(token)
        return token
    }

    /// Creates `count` one-time tokens with `tags` whose key's slot passes `filter`, 50 at a time;
    /// returns their ids.
    func createMany(_ count: Int, tags: [String] = [], where filter: (Int) -> Bool) async throws -> [String] {
        let now = try now()
        var tokens: [NewToken] = []
        while tokens.count < count {
            let token = TokenFixture.token(now: now, tags: tags)
            if filter(RedisKeySlot.slot(of: "test:t:{\(token.id)}")) { tokens.append(token) }
        }
        for first in stride(from: 0, to: tokens.count, by: 50) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for token in tokens[first..<min(first + 50, tokens.count)] {
                    group.addTask { try await create(token) }
                }
                try await group.waitForAll()
            }
        }
        return tokens.map(\.id)
    }

    /// Creates `token`, trying again when a loaded machine kept a replica from confirming in time: a
    /// create that did run answers EXISTS the second time.
    private func create(_ token: NewToken) async throws {
        var attempt = 1
        while true {
            let failure: TokenError
            do {
                try await store.create(token)
                return
            } catch {
                failure = error
            }
            if failure.code == .exists && attempt > 1 { return }
            guard failure.code == .unavailable && attempt < 3 else { throw failure }
            attempt += 1
        }
    }

    /// A running node's clock, unix ms.
    func now() throws -> Int64 {
        let running = try #require(cluster.servers.first { $0.pid != nil })
        let lines = try running.cli("TIME").split(separator: "\n")
        return Int64(lines[0])! * 1000 + Int64(lines[1])! / 1000
    }
}
