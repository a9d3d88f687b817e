import Logging
import NIOCore
import NIOPosix
import Redis
import TestSupport
import Testing

@Suite("RedisStreamReader against a real redis-server")
struct RedisStreamReaderTests {
    /// A reader of the harness's server with the default 1 s command timeout, shorter than some reads' block time.
    static func reader(_ harness: RedisTestHarness) -> RedisStreamReader {
        var configuration = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: harness.server.port))
        configuration.connectTimeout = .seconds(10)
        configuration.commandTimeout = .seconds(1)
        configuration.clientName = "stream-reader-test"
        return RedisStreamReader(
            configuration: configuration, eventLoop: MultiThreadedEventLoopGroup.singleton.next(),
            logger: harness.logs.logger)
    }

    @Test("XREAD BLOCK returns the entries added after it started blocking")
    func blockingReadGetsNewEntries() async throws {
        let harness = try RedisTestHarness.start()
        let reader = Self.reader(harness)
        try await reader.waitUntilConnected()
        let read = Task { try await reader.read(stream: "block:events", after: "$", count: 10, block: .seconds(30)) }
        let client = harness.client
        // XADD only once the read blocks on the server; `$` would otherwise skip the entry.
        let blocked = await eventually(within: .seconds(10)) {
            (try? await client.send(["INFO", "clients"]))?.string?.contains("blocked_clients:1") == true
        }
        #expect(blocked)
        let added = try await client.send(["XADD", "block:events", "*", "event", "{\"event\":\"revoked\"}"])
        let entries = try await read.value
        #expect(entries.map(\.id) == [added.string])
        #expect(entries.first?.text(of: "event") == "{\"event\":\"revoked\"}")
        await reader.shutdown()
        await harness.stop()
    }

    @Test("XREAD BLOCK with nothing new returns no entries rather than timing out")
    func blockingReadTimesOutEmpty() async throws {
        let harness = try RedisTestHarness.start()
        let reader = Self.reader(harness)
        let entries = try await reader.read(stream: "empty:events", after: "0", count: 10, block: .milliseconds(1500))
        #expect(entries.isEmpty)
        await reader.shutdown()
        await harness.stop()
    }

    @Test("resuming after the last id seen returns exactly the later entries; XRANGE and XINFO agree")
    func resumeFromLastID() async throws {
        let harness = try RedisTestHarness.start()
        let reader = Self.reader(harness)
        var ids: [String] = []
        for n in 1...4 {
            let id = try await harness.client.send(["XADD", "resume:events", "*", "event", "e\(n)", "n", "\(n)"])
            ids.append(try #require(id.string))
        }
        let read = try await reader.read(stream: "resume:events", after: ids[1], count: 10, block: .milliseconds(100))
        #expect(read.map(\.id) == Array(ids[2...]))
        #expect(read.first?.fields.map(\.name) == ["event", "n"])
        let range = try await reader.range(stream: "resume:events", from: "(" + ids[0], count: 2)
        #expect(range.map(\.id) == [ids[1], ids[2]])
        let info = try #require(try await reader.info(stream: "resume:events"))
        #expect(info["length"] == .integer(4))
        #expect(info["recorded-first-entry-id"]?.string == ids[0])
        #expect(try await reader.info(stream: "resume:missing") == nil)
        await reader.shutdown()
        await harness.stop()
    }

    @Test("a read of a key of the wrong type fails with .unexpectedReply and Redis's text")
    func wrongTypeIsUnexpectedReply() async throws {
        let harness = try RedisTestHarness.start()
        let reader = Self.reader(harness)
        _ = try await harness.client.send(["SET", "wrong:events", "x"])
        do {
            _ = try await reader.read(stream: "wrong:events", after: "0", count: 1, block: .milliseconds(100))
            Issue.record("a string key was read as a stream")
        } catch {
            #expect(error.code == .unexpectedReply)
            #expect(error.message.contains("WRONGTYPE"))
        }
        #expect(try await reader.send(["PING"]) == .simpleString("PONG"), "the connection stays usable")
        await reader.shutdown()
        await harness.stop()
    }
}
