import Logging
import NIOCore
import NIOPosix
import Redis
import Synchronization
import TestSupport
import Testing

@Suite("RedisClient against a real redis-server")
struct RedisClientTests {
    static let replies: [(command: [String], expected: RESPValue)] = [
        (["PING"], .simpleString("PONG")),
        (["SET", "k", "v"], .simpleString("OK")),
        (["INCRBY", "n", "-42"], .integer(-42)),
        (["GET", "missing"], .null),
        (["XREAD", "COUNT", "1", "STREAMS", "no-stream", "0"], .null),
        (["ECHO", "é\u{0}\r\n"], .bulkString(Array("é\u{0}\r\n".utf8))),
        (["ECHO", ""], .bulkString([])),
        (["EVAL", "return string.char(255, 0, 13, 10, 200)", "0"], .bulkString([255, 0, 13, 10, 200])),
        (["EVAL", "return redis.error_reply('USED no uses left')", "0"], .error("USED no uses left")),
        (["NOSUCHCOMMAND"], .error("ERR unknown command 'NOSUCHCOMMAND', with args beginning with: ")),
        (["EVAL", "return {}", "0"], .array([])),
        (
            ["EVAL", "return {1, {2, {'a', false}}, 'x'}", "0"],
            .array([
                .integer(1), .array([.integer(2), .array([.bulkString(Array("a".utf8)), .null])]),
                .bulkString(Array("x".utf8)),
            ])
        ),
    ]

    @Test("each RESP2 reply kind comes back as its RESPValue", arguments: replies)
    func replyKinds(command: [String], expected: RESPValue) async throws {
        let harness = try RedisTestHarness.start()
        let reply = try await harness.client.send(command)
        #expect(reply == expected)
        await harness.stop()
    }

    @Test("10,000 concurrent sends each get their own reply")
    func concurrentSendsMatchTheirReplies() async throws {
        let harness = try RedisTestHarness.start {
            $0.maxInFlight = 10_000
            $0.commandTimeout = .seconds(10)  // matching is under test, not latency on a busy machine
        }
        try await harness.client.waitUntilConnected()
        let client = harness.client
        let mismatches = try await withThrowingTaskGroup(of: Bool.self, returning: Int.self) { group in
            for n in 0..<10_000 {
                group.addTask { try await client.send(["ECHO", String(n)]) == .bulkString(Array(String(n).utf8)) }
            }
            var mismatches = 0
            for try await matched in group where !matched { mismatches += 1 }
            return mismatches
        }
        #expect(mismatches == 0)
        await harness.stop()
    }

    @Test("sends issued on an event loop use that loop's connection and keep their order")
    func sendsFromAnEventLoop() async throws {
        let harness = try RedisTestHarness.start()
        try await harness.client.waitUntilConnected()
        let client = harness.client
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let replies = try await loop.flatSubmit { () -> EventLoopFuture<[RESPValue]> in
            let futures = (0..<100).map { _ in client.send(["INCR", "counter"], on: loop) }
            return EventLoopFuture.whenAllSucceed(futures, on: loop)
        }.get()
        #expect(replies == (1...100).map { RESPValue.integer(Int64($0)) })
        #expect(try await harness.client.send(["CLIENT", "LIST"]).string?.split(separator: "\n").count == 2)
        await harness.stop()
    }

    @Test("works over a Unix socket")
    func unixSocket() async throws {
        let harness = try RedisTestHarness.start(unixSocket: true)
        #expect(try await harness.client.send(["SET", "via", "unix"]) == .simpleString("OK"))
        #expect(try harness.server.cli("GET", "via") == "unix")
        await harness.stop()
    }

    @Test("an ACL user authenticates, and the client name is set, on every connection")
    func aclUserAndClientName() async throws {
        let harness = try RedisTestHarness.start(serverConfig: ["user presign on >s3cret-pw ~* &* +@all"]) {
            $0.username = "presign"
            $0.password = "s3cret-pw"
            $0.clientName = "presignd-test"
        }
        try await harness.client.waitUntilConnected()
        #expect(try await harness.client.send(["ACL", "WHOAMI"]).string == "presign")
        #expect(try await harness.client.send(["CLIENT", "GETNAME"]).string == "presignd-test")
        await harness.stop()
    }

    @Test("a wrong password surfaces as WRONGPASS, and neither the error nor the logs hold it")
    func wrongPassword() async throws {
        let harness = try RedisTestHarness.start(serverConfig: ["user presign on >s3cret-pw ~* &* +@all"]) {
            $0.username = "presign"
            $0.password = "not-the-password"
        }
        var message = ""
        do {
            try await harness.client.waitUntilConnected()
            Issue.record("waitUntilConnected succeeded with a wrong password")
        } catch let error as RedisClientError {
            #expect(error.code == .unavailable)
            message = error.message
        }
        #expect(message.contains("WRONGPASS"))
        #expect(!message.contains("not-the-password"))
        #expect(await failureCode { try await harness.client.send(["PING"]) } == .unavailable)
        let logs = harness.logs.all
        #expect(logs.contains { $0.contains("WRONGPASS") && $0.contains("redis.endpoint=127.0.0.1:") })
        #expect(!logs.contains { $0.contains("not-the-password") })
        await harness.stop()
    }

    @Test("the onConnect hook runs on each new connection before it serves requests")
    func onConnectHook() async throws {
        let harness = try RedisTestHarness.start {
            $0.connectionCount = 2
            $0.onConnect = { setup in
                _ = try await setup.send(["INCR", "setups"])
            }
        }
        try await harness.client.waitUntilConnected()
        #expect(try harness.server.cli("GET", "setups") == "2")
        // Dropping the connections makes the client reconnect, which runs the hook again.
        try harness.server.cli("CLIENT", "KILL", "TYPE", "normal")
        let rerun = await eventually(within: .seconds(5)) {
            (try? harness.server.cli("GET", "setups")) == "4"
        }
        #expect(rerun)
        await harness.stop()
    }

    @Test("a hook that throws keeps the connection from serving")
    func failingHook() async throws {
        struct SetupFailed: Error {}
        let harness = try RedisTestHarness.start { $0.onConnect = { _ in throw SetupFailed() } }
        await #expect(throws: RedisClientError.self) { try await harness.client.waitUntilConnected() }
        #expect(await failureCode { try await harness.client.send(["PING"]) } == .unavailable)
        await harness.stop()
    }

    @Test("past maxInFlight requests on one connection, the next fails fast with .overloaded")
    func inFlightCap() async throws {
        // One loop, so the connection lives on the loop that queues the requests: all eleven are
        // queued in one task there, and no reply can be read in between.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let harness = try RedisTestHarness.start(eventLoopGroup: group) {
            $0.connectionCount = 1
            $0.maxInFlight = 10
        }
        try await harness.client.waitUntilConnected()
        let client = harness.client
        let loop = group.next()
        let results = try await loop.submit {
            (0..<11).map { _ in client.send(["PING"], on: loop) }
        }.get()
        var codes: [RedisClientError.Code?] = []
        for future in results {
            codes.append(await failureCode { try await future.get() })
        }
        #expect(codes.prefix(10).allSatisfy { $0 == nil })
        #expect(codes.last == .overloaded)
        await harness.stop()
        try await group.shutdownGracefully()
    }

    @Test("a reply over maxReplyBytes closes the connection with .protocolError, then the client recovers")
    func oversizedReply() async throws {
        let harness = try RedisTestHarness.start { $0.maxReplyBytes = 1024 }
        let big = String(repeating: "x", count: 4096)
        #expect(try await harness.client.send(["SET", "big", big]) == .simpleString("OK"))
        #expect(await failureCode { try await harness.client.send(["GET", "big"]) } == .protocolError)
        let recovered = await eventually(within: .seconds(5)) {
            (try? await harness.client.send(["STRLEN", "big"])) == .integer(4096)
        }
        #expect(recovered)
        await harness.stop()
    }

    @Test("after shutdown every send fails with .shutdown")
    func shutdown() async throws {
        let harness = try RedisTestHarness.start()
        #expect(try await harness.client.send(["PING"]) == .simpleString("PONG"))
        await harness.client.shutdown()
        #expect(await failureCode { try await harness.client.send(["PING"]) } == .shutdown)
        let future = harness.client.send(["PING"], on: nil)
        #expect(await failureCode { try await future.get() } == .shutdown)
        #expect(harness.logs.all.contains { $0.hasPrefix("info redis connected") })
        harness.server.stop()
    }
}
