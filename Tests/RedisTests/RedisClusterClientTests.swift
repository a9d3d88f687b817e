import Logging
import NIOPosix
import Redis
import Synchronization
import TestSupport
import Testing

@Suite("RedisClusterClient on a real local cluster", .serialized)
struct RedisClusterClientTests {
    @Test(
        "key slots are what CLUSTER KEYSLOT answers, hash tags included",
        arguments: [
            "", "123456789", "foo", "{user1000}.following", "{user1000}.followers", "foo{}{bar}", "foo{{bar}}zap",
            "foo{bar}{zap}", "{}", "{", "}{x}", "presign:t:{AAAAAAAAAAAAAAAAAAAAAA}", "presign:events", "ключ{ü}",
        ])
    func keySlots(key: String) throws {
        let server = try RedisServer.start(config: ["cluster-enabled yes", "cluster-port \(try freePort())"])
        defer { server.stop() }
        #expect(RedisKeySlot.slot(of: key) == Int(try server.cli("CLUSTER", "KEYSLOT", key)))
    }

    @Test("commands reach the primary owning their key; MOVED and ASK are followed; onConnect runs on every primary")
    func routingAndRedirections() async throws {
        let cluster = try await RedisClusterFixture.start()
        defer { cluster.stop() }
        let setUp = Mutex<Set<String>>([])
        var node = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: 0))
        node.connectTimeout = .seconds(10)
        node.connectionCount = 1
        // Records the port of every node a connection was set up to.
        node.onConnect = { setup in
            let reply = try await setup.send(["CONFIG", "GET", "port"])
            if let port = reply.array?.last?.string { setUp.withLock { _ = $0.insert(port) } }
        }
        let client = RedisClusterClient(
            configuration: RedisClusterConfiguration(
                seeds: [.tcp(host: "127.0.0.1", port: cluster.servers[4].port)], node: node),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "test"))
        try await client.waitUntilConnected()
        #expect(client.primaries.count == 3)
        let primaryPorts = Set(try cluster.primaries().map { String($0.port) })
        #expect(primaryPorts.count == 3 && primaryPorts.isSubset(of: setUp.withLock { $0 }))

        // Every key lands on the primary owning its slot.
        for index in 0..<30 {
            let key = "k\(index)"
            #expect(try await client.send(["SET", key, "v\(index)"], routingKey: key) == .simpleString("OK"))
            let owner = try cluster.primary(forSlot: RedisKeySlot.slot(of: key))
            #expect(try owner.cli("GET", key) == "v\(index)")
        }
        let served = try Set((0..<30).map { try cluster.primary(forSlot: RedisKeySlot.slot(of: "k\($0)")).port })
        #expect(served.count == 3)

        // A slot half-way through a migration: the source answers ASK for a key it does not hold.
        let key = "moving"
        let slot = RedisKeySlot.slot(of: key)
        let primaries = try cluster.primaries()
        let source = try #require(primaries.first { $0.slots.contains { $0.contains(slot) } })
        let target = try #require(primaries.first { $0.id != source.id })
        let sourceServer = try cluster.primary(forSlot: slot)
        let targetServer = try #require(cluster.servers.first { $0.port == target.port })
        try targetServer.cli("CLUSTER", "SETSLOT", String(slot), "IMPORTING", source.id)
        try sourceServer.cli("CLUSTER", "SETSLOT", String(slot), "MIGRATING", target.id)
        #expect(try sourceServer.cli("SET", key, "x").hasPrefix("ASK"))
        #expect(try await client.send(["SET", key, "asked"], routingKey: key) == .simpleString("OK"))
        #expect(try targetServer.cli("CLUSTER", "COUNTKEYSINSLOT", String(slot)) == "1")
        #expect(try sourceServer.cli("CLUSTER", "COUNTKEYSINSLOT", String(slot)) == "0")

        // The migration ends: the client's map is stale, the source answers MOVED.
        for server in cluster.servers {
            try server.cli("CLUSTER", "SETSLOT", String(slot), "NODE", target.id)
        }
        #expect(try sourceServer.cli("GET", key).hasPrefix("MOVED"))
        #expect(try await client.send(["GET", key], routingKey: key) == .bulkString(Array("asked".utf8)))
        #expect(try await client.send(["SET", key, "moved"], routingKey: key) == .simpleString("OK"))
        #expect(try targetServer.cli("GET", key) == "moved")
        await client.shutdown()
    }

    @Test("a one-node cluster, whose node does not know its own address, is reached through the seed's host")
    func oneNodeCluster() async throws {
        let server = try RedisServer.start(config: ["cluster-enabled yes", "cluster-port \(try freePort())"])
        defer { server.stop() }
        try server.cli("CLUSTER", "ADDSLOTSRANGE", "0", "16383")
        #expect(
            await eventually(within: .seconds(10)) {
                (try? server.cli("CLUSTER", "INFO"))?.contains("cluster_state:ok") == true
            })
        var node = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: 0))
        node.connectTimeout = .seconds(10)
        let client = RedisClusterClient(
            configuration: RedisClusterConfiguration(seeds: [.tcp(host: "127.0.0.1", port: server.port)], node: node),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "test"))
        try await client.waitUntilConnected()
        #expect(client.primaries == ["127.0.0.1:\(server.port)"])
        #expect(try await client.send(["SET", "a", "1"], routingKey: "a") == .simpleString("OK"))
        #expect(try server.cli("GET", "a") == "1")
        // A slot nobody serves: the node answers CLUSTERDOWN, which is unavailable (nothing ran).
        try server.cli("CLUSTER", "DELSLOTS", String(RedisKeySlot.slot(of: "b")))
        #expect(await failureCode { try await client.send(["SET", "b", "1"], routingKey: "b") } == .unavailable)
        #expect(try server.cli("DBSIZE") == "1")
        await client.shutdown()
    }

    @Test("a write sent replicated succeeds once a replica confirmed it, and fails unknown when none can")
    func replicatedWrites() async throws {
        let cluster = try await RedisClusterFixture.start()
        defer { cluster.stop() }
        var node = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: 0))
        node.connectTimeout = .seconds(10)
        var configuration = RedisClusterConfiguration(
            seeds: [.tcp(host: "127.0.0.1", port: cluster.servers[0].port)], node: node)
        configuration.node.replicaAcknowledgements = 1
        let client = RedisClusterClient(
            configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: Logger(label: "test"))
        try await client.waitUntilConnected()
        #expect(try await client.send(["SET", "a", "1"], routingKey: "a", replicated: true) == .simpleString("OK"))
        // An error reply wrote nothing: it comes back as it is.
        #expect(try await client.send(["INCR", "a", "b"], routingKey: "a", replicated: true).errorMessage != nil)

        // Freeze the replica of the primary owning "a": nobody can confirm.
        let owner = try cluster.primary(forSlot: RedisKeySlot.slot(of: "a"))
        let ownerID = try #require(try cluster.primaries().first { $0.port == owner.port }?.id)
        let replicaLine = try #require(
            try owner.cli("CLUSTER", "REPLICAS", ownerID).split(separator: "\n").first)
        let replicaPort = try #require(
            Int(replicaLine.split(separator: " ")[1].split(separator: "@")[0].split(separator: ":").last ?? ""))
        let replica = try #require(cluster.servers.first { $0.port == replicaPort })
        replica.pause()
        defer { replica.resume() }
        let failure = await failureCode { try await client.send(["SET", "a", "2"], routingKey: "a", replicated: true) }
        #expect(failure == .outcomeUnknown)
        replica.resume()
        await client.shutdown()
    }
}
