/// A Cluster redirection error reply: `MOVED <slot> <host>:<port>` (the slot lives elsewhere for
/// good) or `ASK <slot> <host>:<port>` (this one request must go there, after `ASKING`). Either way
/// the node that answered did not run the command.
struct RedisRedirection: Equatable {
    enum Kind: Equatable {
        case moved
        case ask
    }

    let kind: Kind
    let slot: Int
    /// The target; an empty host (a node that does not know its own address) means the host of
    /// the node that answered.
    let host: String
    let port: Int

    /// Reads an error reply's text; nil when it is not a redirection.
    init?(_ message: String) {
        let parts = message.split(separator: " ")
        guard parts.count == 3, let slot = Int(parts[1]), (0..<RedisKeySlot.count).contains(slot),
            let colon = parts[2].lastIndex(of: ":"), let port = Int(parts[2][parts[2].index(after: colon)...])
        else { return nil }
        switch parts[0] {
        case "MOVED": kind = .moved
        case "ASK": kind = .ask
        default: return nil
        }
        self.slot = slot
        var host = String(parts[2][..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.host = host
        self.port = port
    }
}
