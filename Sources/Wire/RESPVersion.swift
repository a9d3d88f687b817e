/// The reply protocol a connection speaks: RESP2 until the client says `HELLO 3`.
package enum RESPVersion: Int, Sendable, Hashable {
    case resp2 = 2
    case resp3 = 3
}
