/// One pub/sub delivery: what `PUBLISH channel payload` sent to a subscribed connection.
package struct RedisPubSubMessage: Sendable, Hashable {
    /// The channel it was published on.
    package var channel: String
    /// The published bytes, unchanged.
    package var payload: [UInt8]

    package init(channel: String, payload: [UInt8]) {
        self.channel = channel
        self.payload = payload
    }

    /// The payload decoded as UTF-8 (presignd's events are one line of JSON).
    package var text: String { String(decoding: payload, as: UTF8.self) }

    /// Reads the RESP2 push shape `["message", channel, payload]`; nil for anything else, including
    /// `subscribe` confirmations and `pong` replies, which answer a request and go to its promise.
    init?(_ value: RESPValue) {
        guard case .array(let elements) = value, elements.count == 3,
            case .bulkString(let kind) = elements[0], kind.elementsEqual("message".utf8),
            let channel = elements[1].string, case .bulkString(let payload) = elements[2]
        else { return nil }
        self.init(channel: channel, payload: payload)
    }
}
