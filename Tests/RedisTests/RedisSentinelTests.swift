import NIOPosix
import Redis
import TestSupport
import Testing

/// A client whose endpoint is a set of sentinels: discovery on connect and on every reconnect.
/// Each test starts its own primary, replica and three sentinels.
@Suite("RedisClient through Sentinel")
struct RedisSentinelTests {
    static func client(_ set: RedisSentinelSet, sentinelPorts: [Int]? = nil, logs: LogRecorder) -> RedisClient {
        let sentinels = (sentinelPorts ?? set.sentinelPorts).map { RedisConfiguration.Endpoint.tcp(host: "127.0.0.1", port: $0) }
        var configuration = RedisConfiguration(
            endpoint: .sentinel(RedisSentinelConfiguration(sentinels: sentinels, masterName: RedisSentinelSet.masterName)))
        configuration.connectTimeout = .seconds(10)
        configuration.connectionCount = 2
        return RedisClient(
            configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: logs.logger)
    }

    /// The port of the server a request reaches.
    static func port(via client: RedisClient) async throws -> Int? {
        let reply = try await client.send(["CONFIG", "GET", "port"])
        return reply.array?.last?.string.flatMap { Int($0) }
    }

    @Test("the client finds the primary through the sentinels, past one that is down, and logs its address")
    func discovers() async throws {
        let set = try await RedisSentinelSet.start()
        defer { set.stop() }
        let logs = LogRecorder()
        let client = Self.client(set, sentinelPorts: [try freePort()] + set.sentinelPorts, logs: logs)
        try await client.waitUntilConnected()
        #expect(try await Self.port(via: client) == set.servers[0].port)
        #expect(try await client.send(["SET", "k", "v"]) == .simpleString("OK"))
        #expect(logs.all.contains { $0.hasPrefix("info redis primary discovered") && $0.contains("redis.primary=127.0.0.1:\(set.servers[0].port)") })
        await client.shutdown()
    }

    @Test("no sentinel knows the master name: requests fail with .unavailable naming why, and are not sent")
    func unknownMaster() async throws {
        let set = try await RedisSentinelSet.start()
        defer { set.stop() }
        let configuration = RedisConfiguration(
            endpoint: .sentinel(
                RedisSentinelConfiguration(
                    sentinels: set.sentinelPorts.map { .tcp(host: "127.0.0.1", port: $0) }, masterName: "other")))
        let client = RedisClient(
            configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: LogRecorder().logger)
        // Once the first lookup has failed, requests fail at once, saying why.
        let explained = await eventually(within: .seconds(10)) {
            do {
                _ = try await client.send(["SET", "k", "v"])
                return false
            } catch let error as RedisClientError {
                return error.code == .unavailable && error.message.contains("does not monitor 'other'")
            } catch {
                return false
            }
        }
        #expect(explained)
        #expect(try set.servers[0].cli("EXISTS", "k") == "0")
        await client.shutdown()
    }

    @Test("a server the sentinels name but that says it is a replica (ROLE) serves nothing")
    func namedReplicaIsRefused() async throws {
        let set = try await RedisSentinelSet.start()
        defer { set.stop() }
        // One sentinel is told to watch the replica as if it were a primary; it goes on naming it.
        let sentinel = set.sentinels[0]
        try sentinel.cli("SENTINEL", "MONITOR", "stale", "127.0.0.1", String(set.servers[1].port), "2")
        let logs = LogRecorder()
        let configuration = RedisConfiguration(
            endpoint: .sentinel(
                RedisSentinelConfiguration(sentinels: [.tcp(host: "127.0.0.1", port: sentinel.port)], masterName: "stale")))
        let client = RedisClient(
            configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: logs.logger)
        let refused = await eventually(within: .seconds(10)) {
            do {
                _ = try await client.send(["PING"])
                return false
            } catch let error as RedisClientError {
                return error.code == .unavailable
                    && error.message.contains("127.0.0.1:\(set.servers[1].port) is a slave, not the primary")
            } catch {
                return false
            }
        }
        #expect(refused)
        #expect(!logs.all.contains { $0.hasPrefix("info redis connected") && $0.contains("redis.primary=") })
        await client.shutdown()
    }

    @Test("a frozen primary is replaced: +switch-master drops the idle connection to it, the next request reaches the new one")
    func switchMasterDropsTheOldPrimary() async throws {
        let set = try await RedisSentinelSet.start()
        defer { set.stop() }
        let logs = LogRecorder()
        let client = Self.client(set, logs: logs)
        try await client.waitUntilConnected()
        #expect(try await Self.port(via: client) == set.servers[0].port)
        // Frozen, the old primary keeps its sockets open: without the Sentinel event the client
        // would only notice when a request timed out.
        set.servers[0].pause()
        let promoted = try await set.waitForFailover(from: set.servers[0])
        let dropped = await eventually(within: .seconds(10)) {
            logs.all.contains { $0.hasPrefix("warning sentinel switched the primary away") }
        }
        #expect(dropped)
        let reached = await eventually(within: .seconds(10)) {
            (try? await Self.port(via: client)) == promoted.port
        }
        #expect(reached)
        #expect(try await client.send(["SET", "k", "v"]) == .simpleString("OK"))
        set.servers[0].resume()
        await client.shutdown()
    }

    @Test("a primary switch published while the watch was away is found when the watch reconnects")
    func switchMissedDuringAGapIsFound() async throws {
        let set = try await RedisSentinelSet.start()
        defer { set.stop() }
        let other = try RedisServer.start()
        defer { other.stop() }
        let logs = LogRecorder()
        let client = Self.client(set, logs: logs)
        try await client.waitUntilConnected()
        #expect(try await Self.port(via: client) == set.servers[0].port)
        // The sentinels now name another server, without a +switch-master: as if the event had been
        // published while nobody listened. The old primary still answers, so nothing else moves the client.
        for sentinel in set.sentinels {
            try sentinel.cli("SENTINEL", "REMOVE", RedisSentinelSet.masterName)
            try sentinel.cli("SENTINEL", "MONITOR", RedisSentinelSet.masterName, "127.0.0.1", String(other.port), "2")
        }
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await Self.port(via: client) == set.servers[0].port)
        // The watch connections are cut; once subscribed again they ask who the primary is.
        for sentinel in set.sentinels { try sentinel.cli("CLIENT", "KILL", "TYPE", "pubsub") }
        let reached = await eventually(within: .seconds(10)) {
            (try? await Self.port(via: client)) == other.port
        }
        #expect(reached)
        #expect(logs.all.contains { $0.hasPrefix("warning sentinel names another primary after a gap") })
        await client.shutdown()
    }

    @Test("a primary without its replica answers NOREPLICAS: each write gets it, the connections stay, no reconnects")
    func noReplicasKeepsTheConnection() async throws {
        let set = try await RedisSentinelSet.start(
            primaryConfig: ["min-replicas-to-write 1", "min-replicas-max-lag 10"])
        defer { set.stop() }
        let logs = LogRecorder()
        let client = Self.client(set, logs: logs)
        try await client.waitUntilConnected()
        #expect(try await client.send(["SET", "k", "v"]) == .simpleString("OK"))
        let primary = set.servers[0]
        set.servers[1].stop()
        let refusing = await eventually(within: .seconds(30)) {
            (try? await client.send(["SET", "k", "w"]))?.errorMessage?.hasPrefix("NOREPLICAS") == true
        }
        #expect(refusing)
        let connectionsBefore = try Self.connectionsReceived(primary)
        for _ in 0..<6 {
            let reply = try await client.send(["SET", "k", "x"])
            #expect(reply.errorMessage?.hasPrefix("NOREPLICAS") == true)
        }
        #expect(try await client.send(["GET", "k"]) == .bulkString(Array("v".utf8)))
        // The one new connection is the redis-cli that asks.
        #expect(try Self.connectionsReceived(primary) == connectionsBefore.map { $0 + 1 })
        #expect(!logs.all.contains { $0.hasPrefix("warning redis disconnected") })
        await client.shutdown()
    }

    /// `total_connections_received` from the server's `INFO stats` (its own `redis-cli` included).
    static func connectionsReceived(_ server: RedisServer) throws -> Int? {
        try server.cli("INFO", "stats").split(whereSeparator: \.isNewline)
            .first { $0.hasPrefix("total_connections_received:") }
            .flatMap { Int($0.dropFirst("total_connections_received:".count)) }
    }
}
