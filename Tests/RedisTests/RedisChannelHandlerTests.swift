import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@testable import Redis

/// The handler's bookkeeping on an `EmbeddedChannel`: what is written when, and which request each
/// reply or failure goes to. (Behaviour against a real server is in RedisClientTests.)
@Suite("RedisChannelHandler")
struct RedisChannelHandlerTests {
    /// A handler on a connected embedded channel, with the promises it was given.
    private final class Outcomes: Sendable {
        let byID = Mutex<[Int: Result<RESPValue, RedisClientError>]>([:])
    }

    private struct Fixture {
        let channel = EmbeddedChannel()
        let handler: RedisChannelHandler
        let outcomes = Outcomes()

        init(closesWhenDemoted: Bool = false) throws {
            handler = RedisChannelHandler(
                commandTimeout: .seconds(1), maxInFlight: 10, maxReplyBytes: 1024, closesWhenDemoted: closesWhenDemoted)
            try channel.pipeline.syncOperations.addHandler(handler)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379)).wait()
        }

        /// Enqueues a request whose outcome is recorded under `id`.
        func send(_ id: Int, _ arguments: [String]) {
            let promise = channel.embeddedEventLoop.makePromise(of: RESPValue.self)
            let outcomes = self.outcomes
            promise.futureResult.whenComplete { result in
                outcomes.byID.withLock { $0[id] = result.mapError { $0 as! RedisClientError } }
            }
            handler.enqueue(arguments, promise: promise)
        }

        func outcome(_ id: Int) -> Result<RESPValue, RedisClientError>? {
            outcomes.byID.withLock { $0[id] }
        }

        func failure(_ id: Int) -> RedisClientError.Code? {
            if case .failure(let error) = outcome(id) { error.code } else { nil }
        }
    }

    @Test(
        "a primary found through Sentinel that answers READONLY/MASTERDOWN: the reply reaches its caller, the connection closes",
        arguments: [
            "READONLY You can't write against a read only replica.",
            "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
        ])
    func demotedPrimaryCloses(reply: String) throws {
        let fixture = try Fixture(closesWhenDemoted: true)
        fixture.send(1, ["FCALL", "consume", "1", "k"])
        fixture.send(2, ["FCALL", "consume", "1", "j"])
        fixture.channel.embeddedEventLoop.run()
        try fixture.channel.writeInbound(ByteBuffer(string: "-\(reply)\r\n"))
        #expect(try fixture.outcome(1)?.get() == .error(reply))
        #expect(fixture.failure(2) == .outcomeUnknown)
        #expect(!fixture.channel.isActive)
    }

    @Test("a direct connection keeps serving after READONLY; any connection after NOREPLICAS or other errors")
    func otherErrorsKeepTheConnection() throws {
        for (closes, reply) in [
            (false, "READONLY You can't write against a read only replica."), (true, "ERR READONLY in text"),
            (true, "NOREPLICAS Not enough good replicas to write."),
        ] {
            let fixture = try Fixture(closesWhenDemoted: closes)
            fixture.send(1, ["SET", "k", "v"])
            fixture.send(2, ["GET", "k"])
            fixture.channel.embeddedEventLoop.run()
            try fixture.channel.writeInbound(ByteBuffer(string: "-\(reply)\r\n$1\r\nv\r\n"))
            #expect(try fixture.outcome(1)?.get() == .error(reply))
            #expect(try fixture.outcome(2)?.get() == .bulkString([118]))
            #expect(fixture.channel.isActive)
        }
    }

    @Test("requests of one loop tick leave in one write, after the tick, and replies match in order")
    func oneWritePerTick() throws {
        let fixture = try Fixture()
        fixture.send(1, ["GET", "a"])
        fixture.send(2, ["INCR", "é"])
        #expect(try fixture.channel.readOutbound(as: ByteBuffer.self) == nil)
        fixture.channel.embeddedEventLoop.run()
        let written = try fixture.channel.readOutbound(as: ByteBuffer.self)
        #expect(written == ByteBuffer(string: "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*2\r\n$4\r\nINCR\r\n$2\r\né\r\n"))
        #expect(try fixture.channel.readOutbound(as: ByteBuffer.self) == nil)
        try fixture.channel.writeInbound(ByteBuffer(string: "$1\r\nx\r\n:"))
        #expect(try fixture.outcome(1)?.get() == .bulkString([120]))
        #expect(fixture.outcome(2) == nil)
        try fixture.channel.writeInbound(ByteBuffer(string: "3\r\n"))
        #expect(try fixture.outcome(2)?.get() == .integer(3))
    }

    @Test("bytes that are not RESP2 fail what was sent with .protocolError and close the channel")
    func malformedReply() throws {
        let fixture = try Fixture()
        fixture.send(1, ["PING"])
        fixture.channel.embeddedEventLoop.run()
        try fixture.channel.writeInbound(ByteBuffer(string: "?\r\n"))
        #expect(fixture.failure(1) == .protocolError)
        #expect(!fixture.channel.isActive)
    }

    @Test("a reply nobody asked for is a protocol error")
    func unsolicitedReply() throws {
        let fixture = try Fixture()
        fixture.send(1, ["PING"])
        try fixture.channel.writeInbound(ByteBuffer(string: "+PONG\r\n"))
        #expect(fixture.failure(1) == .unavailable)
        #expect(!fixture.channel.isActive)
    }

    @Test("on close, sent requests fail with the sent error and unsent ones with the unsent error")
    func sentVersusUnsent() throws {
        let fixture = try Fixture()
        fixture.send(1, ["PING"])
        fixture.channel.embeddedEventLoop.run()
        fixture.send(2, ["PING"])
        fixture.handler.close(
            sentError: RedisClientError(code: .outcomeUnknown, message: "sent"),
            unsentError: RedisClientError(code: .unavailable, message: "unsent"))
        #expect(fixture.failure(1) == .outcomeUnknown)
        #expect(fixture.failure(2) == .unavailable)
    }

    @Test("the oldest request's deadline fails everything sent and closes the channel")
    func deadline() throws {
        let fixture = try Fixture()
        fixture.send(1, ["PING"])
        fixture.channel.embeddedEventLoop.run()
        fixture.channel.embeddedEventLoop.advanceTime(by: .milliseconds(500))
        fixture.send(2, ["PING"])
        fixture.channel.embeddedEventLoop.run()
        try fixture.channel.writeInbound(ByteBuffer(string: "+PONG\r\n"))
        #expect(try fixture.outcome(1)?.get() == .simpleString("PONG"))
        // The timer set for request 1 re-arms for request 2 instead of firing on it early.
        fixture.channel.embeddedEventLoop.advanceTime(by: .milliseconds(600))
        #expect(fixture.outcome(2) == nil)
        fixture.channel.embeddedEventLoop.advanceTime(by: .milliseconds(500))
        #expect(fixture.failure(2) == .outcomeUnknown)
        #expect(!fixture.channel.isActive)
    }
}
