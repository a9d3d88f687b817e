import Foundation

/// A Sentinel-managed Redis on loopback for tests: a primary, one replica of it and three sentinels
/// (quorum 2) that fail over one second after the primary stops answering. Every process is a
/// `RedisServer` of its own, stopped by pid.
package final class RedisSentinelSet: Sendable {
    /// The name the sentinels monitor the primary under.
    package static let masterName = "m"

    /// The data servers: `servers[0]` starts as the primary, `servers[1]` as its replica.
    package let servers: [RedisServer]
    /// The three sentinels.
    package let sentinels: [RedisServer]

    /// Starts the set and waits until the sentinels know the replica and each other, so that a
    /// failover can be agreed. `primaryConfig` goes to the first primary only, `serverConfig` to both
    /// data servers (the replica is promoted later, so durability settings belong there).
    ///
    /// Process starts and `redis-cli` calls block, so they run on a thread of their own: the few
    /// threads of Swift's concurrency pool stay free for the other tests running in parallel.
    package static func start(primaryConfig: [String] = [], serverConfig: [String] = []) async throws
        -> RedisSentinelSet
    {
        let (primary, replica, sentinels) = try await offPool {
            let primary = try RedisServer.start(config: serverConfig + primaryConfig)
            let replica = try RedisServer.start(config: serverConfig + ["replicaof 127.0.0.1 \(primary.port)"])
            let sentinels = try (0..<3).map { _ in
                try RedisServer.start(
                    config: [
                        "sentinel resolve-hostnames no",
                        "sentinel monitor \(masterName) 127.0.0.1 \(primary.port) 2",
                        "sentinel down-after-milliseconds \(masterName) 1000",
                        "sentinel failover-timeout \(masterName) 5000",
                    ], sentinel: true)
            }
            return (primary, replica, sentinels)
        }
        let set = RedisSentinelSet(servers: [primary, replica], sentinels: sentinels)
        try await set.waitUntilReplicated()
        // Sentinels find the replica through the primary's INFO and each other through hello
        // messages (every 2 s); a failover needs both.
        try await set.waitUntil("the sentinels know the replica and each other") {
            try sentinels.allSatisfy { sentinel in
                let replicas = try sentinel.cli("SENTINEL", "REPLICAS", masterName)
                let peers = try sentinel.cli("SENTINEL", "SENTINELS", masterName)
                return replicas.contains(String(replica.port))
                    && sentinels.filter { $0 !== sentinel }.allSatisfy { peers.contains(String($0.port)) }
            }
        }
        return set
    }

    private init(servers: [RedisServer], sentinels: [RedisServer]) {
        self.servers = servers
        self.sentinels = sentinels
    }

    /// The sentinels' ports on 127.0.0.1.
    package var sentinelPorts: [Int] { sentinels.map(\.port) }

    /// The data server the sentinels name as primary now (asking each until one answers).
    package func primary() throws -> RedisServer {
        for sentinel in sentinels {
            guard
                let answer = try? sentinel.cli("SENTINEL", "GET-MASTER-ADDR-BY-NAME", Self.masterName),
                let port = answer.split(separator: "\n").last.flatMap({ Int($0) }),
                let server = servers.first(where: { $0.port == port })
            else { continue }
            return server
        }
        throw RedisServer.Failure(description: "no sentinel names a primary for \(Self.masterName)")
    }

    /// Waits (up to 30 s) until the sentinels name a primary other than `old` and it says it is one.
    @discardableResult
    package func waitForFailover(from old: RedisServer) async throws -> RedisServer {
        try await waitUntil("a failover away from port \(old.port)") {
            guard let now = try? self.primary(), now !== old else { return false }
            return try now.cli("ROLE").hasPrefix("master")
        }
        return try primary()
    }

    /// Waits (up to 30 s) until the current primary has the other server as a replica in sync, e.g.
    /// after a killed primary was restarted and Sentinel turned it into a replica.
    package func waitUntilReplicated() async throws {
        try await waitUntil("the replica is in sync with the primary") {
            let primary = try self.primary()
            let replica = self.servers.first { $0 !== primary }!
            return try replica.cli("INFO", "replication").contains("master_link_status:up")
                && primary.cli("INFO", "replication").contains("state=online")
        }
    }

    /// Kills every process (sentinels first, so none starts a failover meanwhile). SIGKILL, not
    /// SIGTERM: a primary shutting down gracefully waits up to 10 s for its replicas to catch up, and
    /// tests call this from a thread of the concurrency pool.
    package func stop() {
        for sentinel in sentinels { sentinel.kill9() }
        for server in servers { server.kill9() }
    }

    /// Restarts `server` (e.g. a killed primary) on its port and data files.
    package func restart(_ server: RedisServer) async throws {
        try await Self.offPool { try server.restart() }
    }

    private func waitUntil(_ what: String, _ condition: @escaping @Sendable () throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if (try? await Self.offPool(condition)) == true { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw RedisServer.Failure(description: "\(what) did not happen within 30 s")
    }

    /// Runs blocking work on a new thread and waits for it without holding a pool thread.
    private static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }
}
