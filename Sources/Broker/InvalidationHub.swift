import Logging
import Synchronization
import Tokens
import Wire

/// Follows the Stream of invalidation events for one presignd instance and fans every event out to
/// this instance's `SUBSCRIBE invalidations` connections.
///
/// One blocking `XREAD` at a time, on an `EventStream` whose client is its own (a blocking command
/// would hold up every request multiplexed behind it). It starts at the Stream's last id and
/// remembers the id of the last event it delivered; after any error (a lost connection, `CLIENT
/// KILL`, a timeout) it reads again from that id, so an event added while it was away is still
/// delivered, once, in order. Redis pub/sub could not do that: a message published during a
/// disconnect is gone (notes/redis.md §3.6).
package final class InvalidationHub: Sendable {
    /// A registered subscriber, to pass to `unsubscribe`.
    package struct Subscription: Sendable, Hashable {
        fileprivate let number: Int
    }

    /// Receives events in Stream order as `message` replies with their payload sizes, built once
    /// per batch for every subscriber; called on the hub's task, so a sink hands them over to its
    /// own thread and returns at once.
    package typealias Sink = @Sendable (_ messages: [Message]) -> Void

    /// An event as a `message` push, its payload's size, and the event (for scope filtering).
    package typealias Message = (reply: Reply, bytes: Int, event: TokenEvent)

    private struct State {
        var sinks: [Int: Sink] = [:]
        var nextNumber = 0
        var lastDelivered: EventID?
        var task: Task<Void, Never>?
    }

    private let stream: EventStream
    private let blockMilliseconds: Int
    private let batchSize: Int
    private let logger: Logger
    private let state = Mutex(State())

    /// A hub reading `stream`, which must have a client of its own whose command timeout is longer
    /// than `blockMilliseconds`.
    package init(stream: EventStream, blockMilliseconds: Int = 2000, batchSize: Int = 1000, logger: Logger) {
        self.stream = stream
        self.blockMilliseconds = blockMilliseconds
        self.batchSize = batchSize
        self.logger = logger
    }

    /// Starts following the Stream.
    package func start() {
        state.withLock { state in
            guard state.task == nil else { return }
            state.task = Task { await self.follow() }
        }
    }

    /// Stops following: ends the blocking read by closing the stream's client, and waits for the
    /// task to finish.
    package func stop() async {
        let task = state.withLock { state in
            defer { state.task = nil }
            return state.task
        }
        task?.cancel()
        await stream.close()
        await task?.value
    }

    /// Registers `sink` for every event delivered from now on.
    package func subscribe(_ sink: @escaping Sink) -> Subscription {
        state.withLock { state in
            defer { state.nextNumber += 1 }
            state.sinks[state.nextNumber] = sink
            return Subscription(number: state.nextNumber)
        }
    }

    /// Stops delivering to a subscriber; a no-op when it is already gone.
    package func unsubscribe(_ subscription: Subscription) {
        _ = state.withLock { $0.sinks.removeValue(forKey: subscription.number) }
    }

    /// Subscribers right now.
    package var subscriberCount: Int { state.withLock { $0.sinks.count } }

    /// The id of the last event delivered, nil before the first.
    package var lastDelivered: EventID? { state.withLock { $0.lastDelivered } }

    private func follow() async {
        var position: EventID?
        var failures = 0
        while !Task.isCancelled {
            do throws(TokenError) {
                let from: EventID
                if let position {
                    from = position
                } else {
                    from = try await stream.lastID()
                    position = from
                    logger.info("following the event stream", metadata: ["events.stream": "\(stream.key)", "events.from": "\(from)"])
                }
                let events = try await stream.read(after: from, count: batchSize, blockMilliseconds: blockMilliseconds)
                if failures > 0 {
                    logger.info("event stream resumed", metadata: ["events.from": "\(from)"])
                    failures = 0
                }
                guard let last = events.last else { continue }
                position = last.id
                let sinks = state.withLock { state in
                    state.lastDelivered = last.id
                    return Array(state.sinks.values)
                }
                let messages = Broker.messages(events)
                for sink in sinks { sink(messages) }
            } catch {
                if Task.isCancelled { break }
                // The first failure of an outage is a warning; the retries are debug, so a long
                // outage does not flood the log. The client reconnects by itself meanwhile.
                logger.log(
                    level: failures == 0 ? .warning : .debug, "event stream read failed; resuming from the last event",
                    metadata: ["error": "\(error)", "events.from": "\(position.map { "\($0)" } ?? "start")"])
                failures += 1
                try? await Task.sleep(for: .milliseconds(min(10 << min(failures, 6), 500)))
            }
        }
    }
}
