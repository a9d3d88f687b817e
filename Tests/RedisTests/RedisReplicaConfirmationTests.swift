import Logging
import NIOCore
import NIOPosix
import TestSupport
import Testing

@testable import Redis

/// `WAIT` confirms only the writes made on its own connection, so a write's `WAIT` must go out on
/// the connection that carried its reply. Steps are driven one at a time against a real primary and
/// replica, so the reconnect lands exactly between a write's reply and its confirmation.
@Suite("RedisReplicaConfirmation across a reconnect")
struct RedisReplicaConfirmationTests {
    @Test("a write whose connection was replaced before its WAIT fails as unknown; on its own one it is confirmed")
    func reconnectBeforeWait() async throws {
        let primary = try RedisServer.start()
        defer { primary.stop() }
        let replica = try RedisServer.start(config: ["replicaof 127.0.0.1 \(primary.port)"])
        defer { replica.stop() }
        #expect(
            await eventually(within: .seconds(30)) {
                (try? replica.cli("INFO", "replication"))?.contains("master_link_status:up") == true
            })
        var configuration = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: primary.port))
        configuration.connectTimeout = .seconds(10)
        let connection = RedisConnection(
            configuration: configuration, eventLoop: MultiThreadedEventLoopGroup.singleton.next(),
            logger: Logger(label: "test"))
        connection.start()
        defer { _ = connection.shutdown() }
        try await connection.waitUntilReady(deadline: .now() + .seconds(10)).get()
        let confirmation = RedisReplicaConfirmation(connection: connection)

        // On the connection that carried it, the write is confirmed by the replica.
        let kept = try await Self.write(["SET", "a", "1"], on: connection, confirmation)
        #expect(
            try await confirmation.confirmed(kept.reply, generation: kept.generation, replicas: 1, timeout: .seconds(5))
                == .simpleString("OK"))

        // The reply arrived, then the connection is killed and replaced before the WAIT goes out.
        let cut = try await Self.write(["SET", "b", "1"], on: connection, confirmation)
        try primary.cli("CLIENT", "KILL", "TYPE", "normal")
        let replaced = await eventually(within: .seconds(10)) {
            let serving = try? await connection.eventLoop.submit { connection.servingGeneration }.get()
            return serving.map { $0 != cut.generation } ?? false
        }
        #expect(replaced)
        // A WAIT on the new connection would answer 1 at once (it made no write): it must not be sent.
        let failure = await #expect(throws: RedisClientError.self) {
            try await confirmation.confirmed(cut.reply, generation: cut.generation, replicas: 1, timeout: .seconds(5))
        }
        #expect(failure?.code == .outcomeUnknown)
        // The new connection confirms its own writes.
        let fresh = try await Self.write(["SET", "c", "1"], on: connection, confirmation)
        #expect(fresh.generation != cut.generation)
        let confirmed = try await confirmation.confirmed(
            fresh.reply, generation: fresh.generation, replicas: 1, timeout: .seconds(5))
        #expect(confirmed == .simpleString("OK"))
    }

    /// Sends `arguments` on `connection` and returns the reply with the generation that carried it.
    private static func write(
        _ arguments: [String], on connection: RedisConnection, _ confirmation: RedisReplicaConfirmation
    ) async throws -> (reply: RESPValue, generation: UInt64?) {
        let promise = connection.eventLoop.makePromise(of: RESPValue.self)
        let carried = confirmation.carried(promise.futureResult)
        connection.send(arguments, promise: promise)
        let (reply, generation) = try await carried.get()
        #expect(generation != nil)
        return (reply, generation)
    }
}
