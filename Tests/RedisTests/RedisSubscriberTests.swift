import Logging
import NIOCore
import NIOPosix
import TestSupport
import Testing

@testable import Redis

@Suite("RedisSubscriber against a real redis-server")
struct RedisSubscriberTests {
    /// A subscriber on `channels` of the harness's server, on its own connection.
    static func subscriber(
        _ harness: RedisTestHarness, channels: [String], bufferCapacity: Int = RedisSubscriber.defaultBufferCapacity
    ) -> RedisSubscriber {
        var configuration = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: harness.server.port))
        configuration.connectTimeout = .seconds(10)
        configuration.clientName = "subscriber-test"
        return RedisSubscriber(
            configuration: configuration, channels: channels, eventLoop: MultiThreadedEventLoopGroup.singleton.next(),
            logger: harness.logs.logger, bufferCapacity: bufferCapacity)
    }

    static func message(_ channel: String, _ text: String) -> RedisSubscriberEvent {
        .message(RedisPubSubMessage(channel: channel, payload: Array(text.utf8)))
    }

    @Test("messages published on the subscribed channels arrive in order, others do not")
    func messagesArrive() async throws {
        let harness = try RedisTestHarness.start()
        let subscriber = Self.subscriber(harness, channels: ["arrive:a", "arrive:b"])
        #expect(await nextEvent(subscriber.events) == .subscribed)
        for (channel, text) in [("arrive:a", "one"), ("arrive:other", "never"), ("arrive:b", "two\r\n\u{0}")] {
            _ = try await harness.client.send(["PUBLISH", channel, text])
        }
        #expect(await nextEvent(subscriber.events) == Self.message("arrive:a", "one"))
        #expect(await nextEvent(subscriber.events) == Self.message("arrive:b", "two\r\n\u{0}"))
        await subscriber.shutdown()
        await harness.stop()
    }

    @Test("after CLIENT KILL TYPE pubsub it resubscribes by itself, reports the gap, and later messages arrive")
    func reconnectsAfterKill() async throws {
        let harness = try RedisTestHarness.start()
        let subscriber = Self.subscriber(harness, channels: ["kill:inval"])
        #expect(await nextEvent(subscriber.events) == .subscribed)
        let killed = try await harness.client.send(["CLIENT", "KILL", "TYPE", "pubsub"])
        #expect(killed == .integer(1))
        #expect(await nextEvent(subscriber.events) == .reconnected)
        let receivers = try await harness.client.send(["PUBLISH", "kill:inval", "after"])
        #expect(receivers == .integer(1))
        #expect(await nextEvent(subscriber.events) == Self.message("kill:inval", "after"))
        #expect(harness.logs.all.contains { $0.contains("redis subscriber resubscribed") })
        await subscriber.shutdown()
        await harness.stop()
    }

    @Test("a subscriber that cannot reach Redis keeps trying and subscribes once Redis is there")
    func subscribesWhenRedisComesUp() async throws {
        let harness = try RedisTestHarness.start()
        harness.server.stop()
        let subscriber = Self.subscriber(harness, channels: ["late:inval"])
        try harness.server.restart()
        #expect(await nextEvent(subscriber.events) == .subscribed)
        await subscriber.shutdown()
        await harness.stop()
    }

    @Test("shutdown ends the events after what was buffered")
    func shutdownEndsTheStream() async throws {
        let harness = try RedisTestHarness.start()
        let subscriber = Self.subscriber(harness, channels: ["end:inval"])
        #expect(await nextEvent(subscriber.events) == .subscribed)
        _ = try await harness.client.send(["PUBLISH", "end:inval", "last"])
        #expect(await eventually(within: .seconds(10)) { subscriber.events.bufferedCount == 1 })
        await subscriber.shutdown()
        var remaining: [RedisSubscriberEvent] = []
        for await event in subscriber.events { remaining.append(event) }
        #expect(remaining == [Self.message("end:inval", "last")])
        await harness.stop()
    }

    @Test("a consumer that falls behind gets an overflow marker in place of the dropped messages")
    func slowConsumerOverflows() async throws {
        let harness = try RedisTestHarness.start()
        let subscriber = Self.subscriber(harness, channels: ["slow:inval"], bufferCapacity: 2)
        #expect(await nextEvent(subscriber.events) == .subscribed)
        for n in 1...5 { _ = try await harness.client.send(["PUBLISH", "slow:inval", "m\(n)"]) }
        // PUBLISH returning does not mean the subscriber has read the push; its drop count does.
        #expect(await eventually(within: .seconds(10)) { subscriber.events.droppedCount == 3 })
        #expect(await nextEvent(subscriber.events) == Self.message("slow:inval", "m1"))
        #expect(await nextEvent(subscriber.events) == Self.message("slow:inval", "m2"))
        #expect(await nextEvent(subscriber.events) == .overflowed)
        _ = try await harness.client.send(["PUBLISH", "slow:inval", "m6"])
        #expect(await nextEvent(subscriber.events) == Self.message("slow:inval", "m6"))
        await subscriber.shutdown()
        await harness.stop()
    }
}

@Suite("RedisSubscriberEvents buffer")
struct RedisSubscriberEventsTests {
    static func message(_ n: Int) -> RedisSubscriberEvent {
        .message(RedisPubSubMessage(channel: "c", payload: Array("m\(n)".utf8)))
    }

    @Test("over capacity, messages are dropped, one gap marker stands for them, and order is kept")
    func boundedWithOneMarker() async {
        let events = RedisSubscriberEvents(capacity: 2)
        let accepted = (1...5).map { events.deliver(Self.message($0)) }
        #expect(accepted == [true, true, false, false, false])
        events.deliver(.reconnected)
        #expect(events.bufferedCount == 3)
        events.deliver(Self.message(6))
        #expect(events.bufferedCount == 3, "still full: m6 is dropped too, and folded into the marker")
        #expect(events.droppedCount == 4)
        #expect(await nextEvent(events) == Self.message(1))
        events.deliver(Self.message(7))
        events.finish()
        var rest: [RedisSubscriberEvent] = []
        for await event in events { rest.append(event) }
        #expect(rest == [Self.message(2), .overflowed, Self.message(7)])
    }

    @Test("the first subscription is .subscribed, every later one .reconnected")
    func subscribedThenReconnected() async {
        let events = RedisSubscriberEvents(capacity: 4)
        #expect(events.subscriptionStarted() == .subscribed)
        #expect(events.subscriptionStarted() == .reconnected)
        #expect(await nextEvent(events) == .subscribed)
        #expect(await nextEvent(events) == .reconnected)
    }

    @Test("a cancelled reader gets nil and the next reader still gets later events")
    func cancellationEndsOneWait() async {
        let events = RedisSubscriberEvents(capacity: 4)
        let waiting = Task { await nextEvent(events, within: .seconds(30)) }
        waiting.cancel()
        #expect(await waiting.value == nil)
        events.deliver(Self.message(1))
        #expect(await nextEvent(events) == Self.message(1))
    }
}

/// The next event, or nil when none comes within `limit` (a guard against hanging, not a speed check).
func nextEvent(_ events: RedisSubscriberEvents, within limit: Duration = .seconds(15)) async -> RedisSubscriberEvent? {
    await withTaskGroup(of: RedisSubscriberEvent?.self) { group in
        group.addTask {
            var iterator = events.makeAsyncIterator()
            return await iterator.next()
        }
        group.addTask {
            try? await Task.sleep(for: limit)
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first
    }
}
