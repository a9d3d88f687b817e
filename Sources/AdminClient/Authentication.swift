import Redis
import Synchronization

/// Sends `AUTH` on every new connection (so a reconnect stays authenticated) and keeps presignd's
/// refusal, so that a wrong secret ends presignctl with `WRONGPASS` (exit 1) rather than as an
/// unreachable server.
final class Authentication: Sendable {
    private let refusal = Mutex<String?>(nil)

    /// The `onConnect` step that authenticates as `clientID`.
    func step(clientID: String, secret: String) -> @Sendable (RedisConnectionSetup) async throws -> Void {
        { setup in
            let reply = try await setup.send(["AUTH", clientID, secret])
            if let message = reply.errorMessage {
                self.refusal.withLock { $0 = message }
                throw AdminFailure(errorReply: message)
            }
        }
    }

    /// Why connecting failed: presignd's refusal of `AUTH` when there was one, else unreachable.
    func failure(connecting endpoint: RedisConfiguration.Endpoint, _ error: any Error) -> AdminFailure {
        if let message = refusal.withLock({ $0 }) { return AdminFailure(errorReply: message) }
        let reason = (error as? RedisClientError).map { ": \($0.message)" } ?? ""
        return AdminFailure(code: "CONNECT", message: "cannot reach presignd at \(endpoint)\(reason)", status: .error)
    }
}
