import Logging
import NIOPosix
import Redis

/// The gateway of the hand-written approach presignd is measured against: a one-time URL's state is
/// a Redis string `status:<id>` (`unused`, then `used`), and the gateway GETs it and, when it says
/// `unused`, SETs it `used` — two round trips, not atomic.
///
/// `preload` writes `--urls` status keys (`SET status:recipe<n> unused EX 3600`). `run` consumes
/// each of them once from `--clients` gateways and prints `recipe.consume calls_per_s=… p50_us=…
/// p99_us=… allowed=…`. Each gateway has its own connection and one decision in flight, as each of
/// redis-benchmark's clients has one connection and one request in flight at `-P 1`, so this load
/// generator (compiled, no interpreter) costs the anchor no more than redis-benchmark costs presignd.
struct RecipeBenchmark {
    var mode: String
    var port: Int
    var urls: Int
    var clients: Int

    init(arguments: [String]) {
        let parsed = ModeArguments(arguments, names: ["--port", "--urls", "--clients"])
        mode = parsed.mode
        port = parsed["--port", default: 6379]
        urls = parsed["--urls", default: 100_000]
        clients = parsed["--clients", default: 50]
    }

    static func key(_ index: Int) -> String { "status:recipe\(index)" }

    func run() async throws {
        let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        var configuration = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: port))
        if mode == "preload" {
            let client = RedisClient(
                configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: logger)
            try await client.waitUntilConnected()
            try await preload(client)
            await client.shutdown()
            return
        }
        // One connection per gateway: the auto-pipelining of a shared connection would batch the
        // gateways' round trips together, which a fleet of separate gateways does not get.
        configuration.connectionCount = 1
        let gateways = (0..<clients).map { _ in
            RedisClient(
                configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: logger)
        }
        for gateway in gateways { try await gateway.waitUntilConnected() }
        try await measure(gateways)
        for gateway in gateways { await gateway.shutdown() }
    }

    private func preload(_ client: RedisClient) async throws {
        let lanes = 50
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<lanes {
                group.addTask {
                    for index in stride(from: lane, to: urls, by: lanes) {
                        let reply = try await client.send(["SET", Self.key(index), "unused", "EX", "3600"])
                        guard reply.string == "OK" else {
                            throw PresignBenchError(message: "preload SET was refused: \(reply)")
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    private func measure(_ gateways: [RedisClient]) async throws {
        let clock = ContinuousClock()
        let start = clock.now
        var latencies: [Duration] = []
        var allowed = 0
        try await withThrowingTaskGroup(of: (Int, [Duration]).self) { group in
            for (lane, gateway) in gateways.enumerated() {
                group.addTask {
                    var mine: [Duration] = []
                    var granted = 0
                    for index in stride(from: lane, to: urls, by: gateways.count) {
                        let key = Self.key(index)
                        let began = clock.now
                        let status = try await gateway.send(["GET", key])
                        if status.string == "unused" {
                            _ = try await gateway.send(["SET", key, "used", "KEEPTTL"])
                            granted += 1
                        }
                        mine.append(began.duration(to: clock.now))
                    }
                    return (granted, mine)
                }
            }
            for try await (granted, mine) in group {
                allowed += granted
                latencies += mine
            }
        }
        let elapsed = start.duration(to: clock.now)
        latencies.sort()
        func microseconds(_ quantile: Double) -> Int {
            let duration = latencies[min(latencies.count - 1, Int(quantile * Double(latencies.count - 1)))]
            return Int(duration.components.seconds) * 1_000_000
                + Int(duration.components.attoseconds / 1_000_000_000_000)
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        print(
            "recipe.consume calls_per_s=\(Int(Double(urls) / seconds)) p50_us=\(microseconds(0.5))"
                + " p99_us=\(microseconds(0.99)) allowed=\(allowed) calls=\(urls) clients=\(clients)")
    }
}
