/// Why a command got no reply from Redis. A Redis *error reply* is not one of these: it comes back as
/// `RESPValue.error`.
///
/// The code says what the caller may conclude about the command: `.outcomeUnknown` is the only code
/// for which the command may have run, and callers must treat it as an error (fail closed), never as
/// success, and never retry it blindly.
package struct RedisClientError: Error, Sendable, CustomStringConvertible {
    /// A stable, matchable reason.
    package enum Code: Sendable, Hashable {
        /// Not connected, or connecting failed: the command was NOT sent.
        case unavailable
        /// Sent, then the deadline passed or the connection dropped: it may or may not have run.
        case outcomeUnknown
        /// The connection's cap on requests in flight was reached: NOT sent.
        case overloaded
        /// The server sent bytes that are not RESP2, an unexpected reply, or a reply over
        /// `maxReplyBytes`: the connection was closed and the outcome of what was sent is unknown.
        case protocolError
        /// The client was shut down: NOT sent.
        case shutdown
        /// Redis answered, but not in the shape a typed call (e.g. `RedisStreamReader.read`) expects:
        /// an error reply such as `WRONGTYPE`, or another kind of value. The connection stays up.
        case unexpectedReply
    }

    /// A stable, matchable reason.
    package var code: Code
    /// A message for people. It never holds a password or a command's arguments.
    package var message: String

    package init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { "Redis \(code): \(message)" }

    /// A typed call's reply that it cannot read. Only Redis's error text is kept, never data.
    static func unexpected(_ reply: RESPValue, from call: String) -> RedisClientError {
        if let message = reply.errorMessage {
            return RedisClientError(code: .unexpectedReply, message: "\(call) answered \(message)")
        }
        return RedisClientError(code: .unexpectedReply, message: "\(call) answered with an unexpected reply")
    }
}
