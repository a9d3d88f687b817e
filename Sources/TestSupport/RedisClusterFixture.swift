import Foundation
import Subprocesses

/// A private Redis Cluster for tests: six `redis-server` processes on loopback (each a
/// `RedisServer` in its own temporary directory, with its own cluster bus port), joined by
/// `redis-cli --cluster create` into three primaries with one replica each, and waited for until
/// every node says `cluster_state:ok`. `stop()` stops every process by its pid.
///
/// Starting and waiting take seconds of blocking work (`redis-cli`, polling), so the async entry
/// points do it on a thread of their own: on Swift's cooperative pool (one thread per core) it would
/// stall every other test of the process meanwhile.
package final class RedisClusterFixture: Sendable {
    /// Every node, in creation order: `redis-cli --cluster create` makes the first three primaries.
    package let servers: [RedisServer]

    /// Starts and joins the cluster; throws (after stopping what it started) when that fails.
    package static func start(nodes: Int = 6, replicas: Int = 1) async throws -> RedisClusterFixture {
        try await onOwnThread { try startBlocking(nodes: nodes, replicas: replicas) }
    }

    private static func startBlocking(nodes: Int, replicas: Int) throws -> RedisClusterFixture {
        var servers: [RedisServer] = []
        do {
            for _ in 0..<nodes {
                servers.append(
                    try RedisServer.start(config: [
                        "cluster-enabled yes",
                        "cluster-config-file nodes.conf",
                        "cluster-node-timeout 1000",
                        // The bus port defaults to port + 10000, which may be taken or beyond 65535.
                        "cluster-port \(try freePort())",
                        // A failed primary's replica takes over even when it lagged a little.
                        "cluster-replica-validity-factor 0",
                    ]))
            }
            let fixture = RedisClusterFixture(servers: servers)
            try fixture.create(replicas: replicas)
            try fixture.waitUntilHealthyBlocking()
            return fixture
        } catch {
            for server in servers { server.stop() }
            throw error
        }
    }

    private init(servers: [RedisServer]) {
        self.servers = servers
    }

    /// `127.0.0.1:<port>` of every node.
    package var addresses: [String] { servers.map { "127.0.0.1:\($0.port)" } }

    private func create(replicas: Int) throws {
        let result = try Self.redisCLI(
            ["--cluster", "create"] + addresses + ["--cluster-replicas", String(replicas), "--cluster-yes"])
        guard result.status == 0 else {
            throw RedisServer.Failure(description: "redis-cli --cluster create failed:\n\(result.output.suffix(2000))")
        }
    }

    /// Waits (up to 30 s) until every running node reports `cluster_state:ok`, knows every other
    /// node, all 16384 slots are assigned, and every running replica is in sync with its primary.
    package func waitUntilHealthy() async throws {
        try await Self.onOwnThread { try self.waitUntilHealthyBlocking() }
    }

    /// Restarts `server`, one of the nodes (same port, directory and `nodes.conf`: it rejoins).
    package func restart(_ server: RedisServer) async throws {
        try await Self.onOwnThread { try server.restart() }
    }

    private func waitUntilHealthyBlocking() throws {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let running = servers.filter { $0.pid != nil }
            let healthy = running.allSatisfy { server in
                guard let info = try? server.cli("CLUSTER", "INFO") else { return false }
                return info.contains("cluster_state:ok") && info.contains("cluster_slots_ok:16384")
                    && info.contains("cluster_known_nodes:\(servers.count)")
            }
            let replication = running.map { (try? $0.cli("INFO", "replication")) ?? "" }
            let replicas = replication.filter { $0.contains("role:slave") }.count
            let inSync = replication.map { $0.components(separatedBy: "state=online").count - 1 }.reduce(0, +)
            if healthy && replicas == inSync { return }
            usleep(50_000)
        }
        throw RedisServer.Failure(description: "the cluster did not reach cluster_state:ok within 30 s")
    }

    /// The node serving `slot` as a primary, as a running node's `CLUSTER NODES` says.
    package func primary(forSlot slot: Int) throws -> RedisServer {
        for primary in try primaries() where primary.slots.contains(where: { $0.contains(slot) }) {
            if let server = servers.first(where: { $0.port == primary.port }) { return server }
        }
        throw RedisServer.Failure(description: "no primary serves slot \(slot)")
    }

    /// The primaries as one running node sees them: node id, port and slot ranges.
    package func primaries() throws -> [(id: String, port: Int, slots: [ClosedRange<Int>])] {
        guard let server = servers.first(where: { $0.pid != nil }) else {
            throw RedisServer.Failure(description: "no node is running")
        }
        var result: [(id: String, port: Int, slots: [ClosedRange<Int>])] = []
        for line in try server.cli("CLUSTER", "NODES").split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 8, fields[2].contains("master"), !fields[2].contains("fail") else { continue }
            let address = fields[1].split(separator: "@")[0]
            guard let port = Int(address.split(separator: ":").last ?? "") else { continue }
            let slots = fields.dropFirst(8).compactMap { range -> ClosedRange<Int>? in
                guard !range.hasPrefix("[") else { return nil }  // a slot being migrated
                let bounds = range.split(separator: "-").compactMap { Int($0) }
                guard let first = bounds.first else { return nil }
                return first...(bounds.last ?? first)
            }
            result.append((String(fields[0]), port, slots))
        }
        return result
    }

    /// Runs `redis-cli` with `arguments` (no host or port added) and returns its status and output.
    package static func redisCLI(_ arguments: [String]) throws -> (status: Int32, output: String) {
        guard let executable = ChildProcess.find("redis-cli") else {
            throw RedisServer.Failure(
                description: "redis-cli is not on PATH: install it (apt-get install -y redis-tools)")
        }
        return try ChildProcess.run(executable, arguments)
    }

    /// Runs blocking `body` on a new thread and returns its result.
    private static func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }

    /// Stops every node (SIGTERM, by pid) and waits for each to exit.
    package func stop() {
        for server in servers { server.stop() }
    }
}
