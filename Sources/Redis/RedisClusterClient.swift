import Logging
import NIOCore
import NIOPosix
import Synchronization

/// A Redis Cluster client: the slot map from `CLUSTER SHARDS`, one auto-pipelined connection per
/// event loop to every primary (each a `RedisConnection`, with the node configuration's handshake
/// and `onConnect`), and each command sent to the primary owning its routing key's slot.
///
/// Redirections are followed because the node that answers one did not run the command: `MOVED`
/// updates the map (and reads it again in the background) and resends; `ASK` resends once to the
/// named node, right after `ASKING` on the same connection. `TRYAGAIN` and `CLUSTERDOWN` fail as
/// `.unavailable`. Like `RedisClient` it never resends a command whose outcome is unknown: a lost
/// connection fails it with `.outcomeUnknown` and only makes the client read the map again.
///
/// The map is read again after a `MOVED`, after a node's connection fails (a failover promotes a
/// replica elsewhere), and every `refreshInterval`.
package final class RedisClusterClient: RedisCommandSender {
    /// The connections to one node, one per event loop (or `connectionCount`).
    private final class Node: Sendable {
        let primary: RedisClusterMap.Primary
        let connections: [RedisConnection]
        /// The `WAIT` batching of each connection, same order.
        let confirmations: [RedisReplicaConfirmation]
        private let nextConnection = Atomic<UInt>(0)

        init(
            primary: RedisClusterMap.Primary, configuration: RedisConfiguration, loops: [any EventLoop], logger: Logger
        ) {
            self.primary = primary
            var configuration = configuration
            configuration.endpoint = .tcp(host: primary.host, port: primary.port)
            let count = max(1, configuration.connectionCount ?? loops.count)
            self.connections = (0..<count).map { index in
                var logger = logger
                logger[metadataKey: "redis.connection"] = "\(index)"
                return RedisConnection(
                    configuration: configuration, eventLoop: loops[index % loops.count], logger: logger)
            }
            self.confirmations = connections.map(RedisReplicaConfirmation.init(connection:))
            for connection in connections { connection.start() }
        }

        /// The index of the connection on the caller's event loop when there is one, so nothing hops
        /// threads; otherwise connections take turns.
        func connectionIndex() -> Int {
            if let loop = MultiThreadedEventLoopGroup.currentEventLoop,
                let local = connections.firstIndex(where: { $0.eventLoop === loop })
            {
                return local
            }
            let turn = nextConnection.wrappingAdd(1, ordering: .relaxed).oldValue
            return Int(turn % UInt(connections.count))
        }

        func shutdown() async {
            for connection in connections { try? await connection.shutdown().get() }
        }
    }

    private struct State {
        /// The node serving each slot; nil before the first map or for a slot nobody serves.
        var slots: [Node?] = Array(repeating: nil, count: RedisKeySlot.count)
        var nodes: [RedisClusterMap.Primary: Node] = [:]
        var refresh: Task<Void, Never>?
        var lastRefresh: ContinuousClock.Instant?
        /// Whether a map was read at least once.
        var hasMap = false
        var periodic: Task<Void, Never>?
        var isShutdown = false
    }

    /// Redirections followed for one command before giving up (a map in flux, or a loop).
    private static let maxRedirections = 5
    /// Refreshes asked for by failures or `MOVED` replies closer together than this are merged:
    /// a burst of failures reads the map once.
    private static let refreshSpacing = Duration.milliseconds(100)

    private let configuration: RedisClusterConfiguration
    private let loops: [any EventLoop]
    private let logger: Logger
    private let state = Mutex(State())

    /// Creates the client and starts reading the slot map at once; use `waitUntilConnected()` to wait.
    package init(configuration: RedisClusterConfiguration, eventLoopGroup: any EventLoopGroup, logger: Logger) {
        precondition(!configuration.seeds.isEmpty, "a cluster client needs at least one seed node")
        self.configuration = configuration
        self.loops = Array(eventLoopGroup.makeIterator())
        self.logger = logger
        let interval = configuration.refreshInterval
        // Holds the client only while a refresh runs, so a client dropped without `shutdown()` ends it.
        let periodic = Task { [weak self] in
            while !Task.isCancelled {
                await self?.refresh()
                if self == nil { return }
                try? await Task.sleep(for: interval)
            }
        }
        state.withLock { $0.periodic = periodic }
    }

    /// Sends one command to the primary owning `routingKey`'s slot (any primary when nil),
    /// following `MOVED` and `ASK`. A Redis error reply comes back as `.error`.
    package func send(_ arguments: [String], routingKey: String?) async throws(RedisClientError) -> RESPValue {
        try await send(arguments, routingKey: routingKey, replicated: false)
    }

    /// Sends one command as `send(_:routingKey:)` does; with `replicated` and
    /// `replicaAcknowledgements` above 0, a reply that is not an error counts only once that many
    /// replicas confirmed the write (`WAIT`), else the command fails with `.outcomeUnknown`.
    package func send(
        _ arguments: [String], routingKey: String?, replicated: Bool
    ) async throws(RedisClientError) -> RESPValue {
        let replicas = replicated ? configuration.node.replicaAcknowledgements : 0
        guard !arguments.isEmpty else {
            throw RedisClientError(code: .unavailable, message: "empty command not sent")
        }
        var node = try await node(serving: routingKey.map(RedisKeySlot.slot(of:)) ?? 0)
        var asking = false
        for _ in 0...Self.maxRedirections {
            let reply: RESPValue
            do {
                reply = try await send(arguments, to: node, asking: asking, replicas: replicas)
            } catch {
                // The node may be gone (a failover moves its slots): read the map again. The command
                // itself is not resent: if it was sent, its outcome is unknown.
                requestRefresh()
                throw error
            }
            guard let message = reply.errorMessage else { return reply }
            if let redirection = RedisRedirection(message) {
                let host = redirection.host.isEmpty ? node.primary.host : redirection.host
                let target = RedisClusterMap.Primary(host: host, port: redirection.port)
                switch redirection.kind {
                case .moved:
                    node = try adopt(slot: redirection.slot, primary: target)
                    asking = false
                    requestRefresh()
                case .ask:
                    node = try self.node(for: target)
                    asking = true
                }
                continue
            }
            if message.hasPrefix("TRYAGAIN") || message.hasPrefix("CLUSTERDOWN") {
                throw RedisClientError(
                    code: .unavailable, message: "cluster not serving the slot now (\(message)); command not run")
            }
            return reply
        }
        throw RedisClientError(
            code: .unavailable, message: "more than \(Self.maxRedirections) redirections; command not run")
    }

    /// Sends one command to every primary of the current map (e.g. `FUNCTION LOAD`, which is per
    /// node) and returns each primary's reply, in no particular order.
    package func sendToEveryPrimary(_ arguments: [String]) async throws(RedisClientError) -> [RESPValue] {
        _ = try await node(serving: 0)
        // The nodes of the map, not every node connected to (a seed being asked for the map may be a replica).
        let nodes = state.withLock { state in
            var seen = Set<ObjectIdentifier>()
            return state.slots.compactMap { $0 }.filter { seen.insert(ObjectIdentifier($0)).inserted }
        }
        var replies: [RESPValue] = []
        for node in nodes {
            replies.append(try await send(arguments, to: node, asking: false, replicas: 0))
        }
        return replies
    }

    /// The primaries of the current map, as `host:port`.
    package var primaries: [String] {
        state.withLock { $0.nodes.keys.map { "\($0.host):\($0.port)" }.sorted() }
    }

    /// Returns once the slot map is read and every primary's connections are ready; throws
    /// `.unavailable` when that takes longer than the node connect timeout.
    package func waitUntilConnected() async throws {
        let deadline = NIODeadline.now() + TimeAmount(configuration.node.connectTimeout)
        while !state.withLock({ $0.hasMap }) {
            guard NIODeadline.now() < deadline else {
                throw RedisClientError(code: .unavailable, message: "no seed node answered CLUSTER SHARDS")
            }
            await refresh()
            if !state.withLock({ $0.hasMap }) { try await Task.sleep(for: .milliseconds(20)) }
        }
        for node in state.withLock({ Array($0.nodes.values) }) {
            for connection in node.connections {
                try await connection.waitUntilReady(deadline: deadline).get()
            }
        }
    }

    package func shutdown() async {
        let (nodes, tasks) = state.withLock { state in
            state.isShutdown = true
            defer {
                state.nodes = [:]
                state.slots = Array(repeating: nil, count: RedisKeySlot.count)
            }
            return (Array(state.nodes.values), [state.periodic, state.refresh])
        }
        // Nodes first, so a map read waiting on one of them ends at once.
        for node in nodes { await node.shutdown() }
        for task in tasks { task?.cancel() }
        for task in tasks { await task?.value }
    }

    // MARK: Sending

    /// Sends `arguments` on one of `node`'s connections, right after `ASKING` when `asking` (both
    /// enqueued in one go on the connection's loop, so nothing can come between them). With
    /// `replicas` above 0, a reply that is not an error waits for a `WAIT <replicas>` sent on the same
    /// connection after it (shared with other writers, see `RedisReplicaConfirmation`), and only if
    /// that connection is still the one that carried the reply; a denial wrote nothing and pays no wait.
    private func send(
        _ arguments: [String], to node: Node, asking: Bool, replicas: Int
    ) async throws(RedisClientError) -> RESPValue {
        let index = node.connectionIndex()
        let connection = node.connections[index]
        let loop = connection.eventLoop
        return try await node.confirmations[index].reply(
            replicas: replicas, timeout: configuration.node.replicaTimeout
        ) { promise in
            if asking {
                loop.execute {
                    // Its own reply does not matter: the command's reply says whether it took.
                    let askingPromise = loop.makePromise(of: RESPValue.self)
                    askingPromise.futureResult.whenFailure { _ in }
                    connection.send(["ASKING"], promise: askingPromise)
                    connection.send(arguments, promise: promise)
                }
            } else {
                connection.send(arguments, promise: promise)
            }
        }
    }

    /// The node serving `slot`, reading the map first when nobody serves it yet.
    private func node(serving slot: Int) async throws(RedisClientError) -> Node {
        if let node = try current(slot) { return node }
        await refresh()
        if let node = try current(slot) { return node }
        throw RedisClientError(code: .unavailable, message: "no primary serves slot \(slot); command not sent")
    }

    private func current(_ slot: Int) throws(RedisClientError) -> Node? {
        let (node, isShutdown) = state.withLock { ($0.slots[slot], $0.isShutdown) }
        if isShutdown { throw RedisClientError(code: .shutdown, message: "client shut down; command not sent") }
        return node
    }

    /// The node at `primary`, connecting to it when it is new.
    private func node(for primary: RedisClusterMap.Primary) throws(RedisClientError) -> Node {
        let node: Node? = state.withLock { state in
            // After shutdown nothing connects any more.
            guard !state.isShutdown else { return nil }
            if let node = state.nodes[primary] { return node }
            let node = makeNode(primary)
            state.nodes[primary] = node
            return node
        }
        guard let node else { throw RedisClientError(code: .shutdown, message: "client shut down; command not sent") }
        return node
    }

    /// Records what a `MOVED` said, so the resend and later commands go there before the map is read again.
    private func adopt(slot: Int, primary: RedisClusterMap.Primary) throws(RedisClientError) -> Node {
        let node = try self.node(for: primary)
        state.withLock { $0.slots[slot] = node }
        return node
    }

    private func makeNode(_ primary: RedisClusterMap.Primary) -> Node {
        var logger = logger
        logger[metadataKey: "redis.node"] = "\(primary.host):\(primary.port)"
        return Node(primary: primary, configuration: configuration.node, loops: loops, logger: logger)
    }

    // MARK: The slot map

    /// Reads the map soon, unless a read is under way or one started within `refreshSpacing`.
    private func requestRefresh() {
        let due = state.withLock { state in
            guard !state.isShutdown, state.refresh == nil else { return false }
            if let last = state.lastRefresh, ContinuousClock.now - last < Self.refreshSpacing { return false }
            return true
        }
        if due { Task { await self.refresh() } }
    }

    /// Reads the map from the first node that answers; callers arriving meanwhile share the read.
    private func refresh() async {
        let task: Task<Void, Never>? = state.withLock { state in
            guard !state.isShutdown else { return nil }
            if let running = state.refresh { return running }
            state.lastRefresh = .now
            let task = Task { await self.readMap() }
            state.refresh = task
            return task
        }
        await task?.value
    }

    private func readMap() async {
        defer { state.withLock { $0.refresh = nil } }
        // Known primaries first (they are connected), then the seeds.
        var candidates = state.withLock { Array($0.nodes.keys) }.shuffled()
        for seed in configuration.seeds {
            guard case .tcp(let host, let port) = seed else { continue }
            let primary = RedisClusterMap.Primary(host: host, port: port)
            if !candidates.contains(primary) { candidates.append(primary) }
        }
        var lastError = "no seed node"
        for candidate in candidates {
            if Task.isCancelled { return }
            do {
                let node = try self.node(for: candidate)
                let reply = try await send(["CLUSTER", "SHARDS"], to: node, asking: false, replicas: 0)
                let map = try RedisClusterMap(shards: reply, answeredBy: candidate.host)
                guard !map.ranges.isEmpty else {
                    lastError = "\(candidate.host):\(candidate.port) serves no slots"
                    continue
                }
                await apply(map)
                return
            } catch {
                if error.code == .shutdown { return }
                lastError = "\(candidate.host):\(candidate.port): \(error)"
            }
        }
        logger.warning("redis cluster map not read", metadata: ["redis.error": "\(lastError)"])
        // Nodes tried that are not primaries of the map in use (a dead seed) stay until a map is read.
    }

    /// Installs `map`: connects to new primaries and closes the connections of nodes that serve no
    /// slot any more (a failed primary, a replica seed).
    private func apply(_ map: RedisClusterMap) async {
        let (dropped, changed) = state.withLock { state -> ([Node], Bool) in
            guard !state.isShutdown else { return ([], false) }
            var slots = [Node?](repeating: nil, count: RedisKeySlot.count)
            for (range, primary) in map.ranges {
                let node: Node
                if let known = state.nodes[primary] {
                    node = known
                } else {
                    node = makeNode(primary)
                    state.nodes[primary] = node
                }
                for slot in range { slots[slot] = node }
            }
            let changed = zip(slots, state.slots).contains { $0 !== $1 }
            state.slots = slots
            state.hasMap = true
            let primaries = map.primaries
            let dropped = state.nodes.filter { !primaries.contains($0.key) }
            for primary in dropped.keys { state.nodes.removeValue(forKey: primary) }
            return (Array(dropped.values), changed)
        }
        if changed {
            logger.info(
                "redis cluster map read",
                metadata: ["redis.primaries": "\(map.primaries.map { "\($0.host):\($0.port)" }.sorted())"])
        }
        for node in dropped { await node.shutdown() }
    }
}
