import NIOCore
import Synchronization

/// The events of one `RedisSubscriber`, in arrival order, with bounded memory.
///
/// At most `capacity` messages wait for the consumer. A message arriving when they are all unread is
/// dropped and an `.overflowed` marker takes its place, so the consumer learns of the gap when it gets
/// there instead of the process buffering without bound. Gap markers never follow each other (one
/// says all there is to say), so at most `2 × capacity + 2` events are held. Iterate it from one task.
package final class RedisSubscriberEvents: AsyncSequence, Sendable {
    package typealias Element = RedisSubscriberEvent

    private struct State {
        var events = CircularBuffer<RedisSubscriberEvent>()
        var messages = 0
        var waiter: CheckedContinuation<RedisSubscriberEvent?, Never>?
        var finished = false
        var subscribedBefore = false
        var dropped = 0
    }

    /// How many unread messages are kept before new ones are dropped.
    package let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) {
        precondition(capacity > 0, "an event buffer needs room for one message")
        self.capacity = capacity
    }

    /// Events waiting to be read (messages and markers).
    package var bufferedCount: Int { state.withLock { $0.events.count } }

    /// Messages dropped so far because the consumer was behind (worth exporting as a metric).
    package var droppedCount: Int { state.withLock { $0.dropped } }

    package func makeAsyncIterator() -> Iterator { Iterator(events: self) }

    /// Reads events until the subscriber shuts down (then `next()` returns nil) or the task is cancelled.
    package struct Iterator: AsyncIteratorProtocol {
        let events: RedisSubscriberEvents

        package mutating func next() async -> RedisSubscriberEvent? { await events.next() }
    }

    // MARK: Producer side (the connection's event loop)

    /// Hands `event` to the consumer; a message over capacity is replaced by an `.overflowed` marker.
    /// Returns false when the event was dropped.
    @discardableResult
    func deliver(_ event: RedisSubscriberEvent) -> Bool {
        let (waiter, delivered) = state.withLock {
            state -> (CheckedContinuation<RedisSubscriberEvent?, Never>?, Bool) in
            if state.finished { return (nil, false) }
            if let waiter = state.waiter {
                // The consumer is waiting, so the buffer is empty: hand the event over directly.
                state.waiter = nil
                return (waiter, true)
            }
            var stored = event
            if case .message = event {
                if state.messages < capacity {
                    state.messages += 1
                } else {
                    stored = .overflowed
                    state.dropped += 1
                }
            }
            if stored.isGap, state.events.last?.isGap == true { return (nil, stored == event) }
            state.events.append(stored)
            return (nil, stored == event)
        }
        waiter?.resume(returning: event)
        return delivered
    }

    /// Records that a connection is subscribed and delivers `.subscribed` the first time,
    /// `.reconnected` after that; returns which.
    @discardableResult
    func subscriptionStarted() -> RedisSubscriberEvent {
        let event: RedisSubscriberEvent = state.withLock { state in
            defer { state.subscribedBefore = true }
            return state.subscribedBefore ? .reconnected : .subscribed
        }
        deliver(event)
        return event
    }

    /// Ends the sequence once the consumer has read what is buffered.
    func finish() {
        let waiter = state.withLock { state in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    // MARK: Consumer side

    private func next() async -> RedisSubscriberEvent? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<RedisSubscriberEvent?, Never>) in
                let immediate: RedisSubscriberEvent?? = state.withLock { state in
                    if let event = state.events.popFirst() {
                        if case .message = event { state.messages -= 1 }
                        return .some(event)
                    }
                    if state.finished || Task.isCancelled { return .some(nil) }
                    precondition(state.waiter == nil, "RedisSubscriberEvents is iterated from two tasks at once")
                    state.waiter = continuation
                    return .none
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: nil)
        }
    }
}
