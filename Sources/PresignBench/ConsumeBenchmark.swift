import Logging
import NIOPosix
import Redis
import Tokens

/// Consume calls per second through `RedisTokenStore` (one shared auto-pipelined client, as the
/// daemon has), with many concurrent callers, against a redis-server that `bench/consume` started.
///
/// `preload` creates `--tokens` many-use tokens with ids `benchtoken<12 digits>` (the shape of
/// redis-benchmark's `__rand_int__`, so it can call the same Function on the same tokens), each for
/// its own object, and loads the Function library. `run` spends `--calls` uses on random tokens
/// from `--callers` concurrent tasks and prints `consume calls_per_s=…`. With `--cluster 1`, `--port`
/// is a seed node of a Redis Cluster and the store runs on a `RedisClusterClient`.
struct ConsumeBenchmark {
    var mode: String
    var port: Int
    var tokens: Int
    var calls: Int
    var callers: Int
    var cluster: Bool

    init(arguments: [String]) {
        let parsed = ModeArguments(arguments, names: ["--port", "--tokens", "--calls", "--callers", "--cluster"])
        mode = parsed.mode
        port = parsed["--port", default: 6379]
        tokens = parsed["--tokens", default: 10_000]
        calls = parsed["--calls", default: 200_000]
        callers = parsed["--callers", default: 50]
        cluster = parsed["--cluster", default: 0] == 1
    }

    /// The id of token `index`: `benchtoken` and 12 digits, as redis-benchmark pads `__rand_int__`.
    static func id(_ index: Int) -> String {
        let digits = String(index)
        return "benchtoken" + String(repeating: "0", count: 12 - digits.count) + digits
    }

    func run() async throws {
        let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let configuration = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: port))
        let client: any RedisCommandSender
        if cluster {
            let clusterClient = RedisClusterClient(
                configuration: RedisClusterConfiguration(seeds: [configuration.endpoint], node: configuration),
                eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: logger)
            try await clusterClient.waitUntilConnected()
            client = clusterClient
        } else {
            let standalone = RedisClient(
                configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: logger)
            try await standalone.waitUntilConnected()
            client = standalone
        }
        let store = RedisTokenStore(client: client, keyspace: try TokenKeyspace(), logger: logger)
        if mode == "preload" {
            try await preload(store)
        } else {
            try await measure(store)
        }
        await client.shutdown()
    }

    private func preload(_ store: RedisTokenStore) async throws {
        try await store.prepare()
        let now = Int64(time(nil)) * 1000
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<callers {
                group.addTask {
                    for index in stride(from: lane, to: tokens, by: callers) {
                        try await store.create(
                            NewToken(
                                id: Self.id(index), method: "GET", bucket: "bench",
                                key: "users/\(index)/avatar.jpg", profile: "default", uses: 1_000_000,
                                issuedAt: now, expiresAt: now + 3_600_000, issuer: "bench"))
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    private func measure(_ store: RedisTokenStore) async throws {
        let clock = ContinuousClock()
        let start = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<callers {
                let share = calls / callers + (lane < calls % callers ? 1 : 0)
                group.addTask {
                    var generator = SystemRandomNumberGenerator()
                    for _ in 0..<share {
                        _ = try await store.consume(id: Self.id(Int(generator.next() % UInt64(tokens))), method: nil)
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        print("consume calls_per_s=\(Int(Double(calls) / seconds)) calls=\(calls) callers=\(callers)")
    }
}
