import NIOCore
import NIOPosix
import Redis
import TestSupport
import Testing

/// What callers see when Redis freezes, dies or comes back. Bounds are generous: they check that
/// nothing hangs, not how fast it is.
@Suite("RedisClient when Redis fails")
struct RedisFailureTests {
    @Test("a frozen server fails requests with .outcomeUnknown at the deadline, and works again after resume")
    func pauseAndResume() async throws {
        let harness = try RedisTestHarness.start { $0.commandTimeout = .milliseconds(300) }
        #expect(try await harness.client.send(["SET", "k", "1"]) == .simpleString("OK"))
        harness.server.pause()
        let clock = ContinuousClock()
        let started = clock.now
        #expect(await failureCode { try await harness.client.send(["INCR", "k"]) } == .outcomeUnknown)
        #expect(clock.now - started < .seconds(10))
        harness.server.resume()
        let recovered = await eventually(within: .seconds(10)) {
            (try? await harness.client.send(["PING"])) == .simpleString("PONG")
        }
        #expect(recovered)
        // The closed connection logs on its own loop; another connection may serve PING first.
        let logged = await eventually(within: .seconds(10)) {
            harness.logs.all.contains { $0.hasPrefix("warning redis disconnected") }
        }
        #expect(logged)
        await harness.stop()
    }

    @Test("a killed server makes requests fail fast with .unavailable")
    func killed() async throws {
        let harness = try RedisTestHarness.start()
        #expect(try await harness.client.send(["PING"]) == .simpleString("PONG"))
        harness.server.kill9()
        // A request racing the kill may already be on the wire (.outcomeUnknown); once the loss is
        // seen, every request fails at once with .unavailable.
        let failsFast = await eventually(within: .seconds(5)) {
            await failureCode { try await harness.client.send(["PING"]) } == .unavailable
        }
        #expect(failsFast)
        await harness.stop()
    }

    @Test("after a restart the same client works again within a second")
    func restart() async throws {
        let harness = try RedisTestHarness.start()
        #expect(try await harness.client.send(["PING"]) == .simpleString("PONG"))
        harness.server.kill9()
        _ = await failureCode { try await harness.client.send(["PING"]) }
        // Let the backoff grow to its cap before Redis comes back.
        try await Task.sleep(for: .seconds(1))
        try harness.server.restart()
        // The backoff is capped at 500 ms; 2 s leaves room for a loaded machine.
        let recovered = await eventually(within: .seconds(2)) {
            (try? await harness.client.send(["PING"])) == .simpleString("PONG")
        }
        #expect(recovered)
        await harness.stop()
    }

    @Test("a server that drops each connection soon after the handshake does not make the client spin")
    func droppedAfterHandshake() async throws {
        let harness = try RedisTestHarness.start()
        #expect(try await harness.client.send(["PING"]) == .simpleString("PONG"))
        func connects() -> Int { harness.logs.all.filter { $0.hasPrefix("info redis connected") }.count }
        let before = connects()
        // For 3 s, every connection is killed about as soon as it is up (redis-cli's own are spared).
        let clock = ContinuousClock()
        let end = clock.now + .seconds(3)
        var kills = 0
        while clock.now < end {
            _ = try harness.server.cli("CLIENT", "KILL", "TYPE", "normal")
            kills += 1
        }
        // None of those connections lived the healthy second, so the backoff keeps growing to its
        // 500 ms cap: a handful of reconnects. (When each handshake reset it, one came 20 ms after
        // each kill.)
        let reconnects = connects() - before
        #expect(kills > 30, "the kills came too slowly for the test to mean anything")
        #expect(reconnects < 20, "\(reconnects) reconnects for \(kills) kills")
        let recovered = await eventually(within: .seconds(5)) {
            (try? await harness.client.send(["PING"])) == .simpleString("PONG")
        }
        #expect(recovered)
        await harness.stop()
    }

    @Test("waitUntilConnected gives up after connectTimeout when nothing listens")
    func nothingListening() async throws {
        let harness = try RedisTestHarness.start { $0.connectTimeout = .milliseconds(300) }
        await harness.client.shutdown()
        harness.server.stop()
        var configuration = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: harness.server.port))
        configuration.connectTimeout = .milliseconds(300)
        let client = RedisClient(
            configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: harness.logs.logger)
        await #expect(throws: RedisClientError.self) { try await client.waitUntilConnected() }
        #expect(await failureCode { try await client.send(["PING"]) } == .unavailable)
        await client.shutdown()
    }
}
