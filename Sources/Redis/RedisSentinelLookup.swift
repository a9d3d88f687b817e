import NIOCore

/// Asks Sentinel which server is the primary right now (`SENTINEL get-master-addr-by-name`).
enum RedisSentinelLookup {
    /// The primary's address as named by the first sentinel that answers, and that sentinel.
    /// Sentinels that are down, refuse `AUTH` or do not know the name are skipped; when none
    /// answers, the error lists why for each (never a password).
    static func primary(
        of configuration: RedisSentinelConfiguration, on eventLoop: any EventLoop, maxReplyBytes: Int
    ) async throws(RedisClientError) -> (primary: RedisConfiguration.Endpoint, sentinel: RedisConfiguration.Endpoint) {
        var failures: [String] = []
        for sentinel in configuration.sentinels {
            do {
                let primary = try await ask(sentinel, configuration, on: eventLoop, maxReplyBytes: maxReplyBytes)
                return (primary, sentinel)
            } catch {
                failures.append("\(sentinel): \(error.message)")
            }
        }
        throw RedisClientError(
            code: .unavailable,
            message: "no sentinel named a primary for '\(configuration.masterName)' (\(failures.joined(separator: "; ")))")
    }

    /// One sentinel on a connection of its own, closed afterwards. The connect and each reply are
    /// bounded by `queryTimeout`.
    private static func ask(
        _ sentinel: RedisConfiguration.Endpoint, _ configuration: RedisSentinelConfiguration,
        on eventLoop: any EventLoop, maxReplyBytes: Int
    ) async throws(RedisClientError) -> RedisConfiguration.Endpoint {
        let channel: any Channel
        do {
            channel = try await RedisConnection.makeChannel(
                to: sentinel, on: eventLoop, connectTimeout: configuration.queryTimeout,
                commandTimeout: configuration.queryTimeout, maxInFlight: 4, maxReplyBytes: maxReplyBytes
            ).get()
        } catch {
            throw RedisClientError(code: .unavailable, message: "cannot connect (\(error))")
        }
        defer { channel.close(promise: nil) }
        let setup = RedisConnectionSetup(channel: channel)
        if let password = configuration.password {
            let auth = configuration.username.map { ["AUTH", $0, password] } ?? ["AUTH", password]
            if let message = try await setup.send(auth).errorMessage {
                throw RedisClientError(code: .unavailable, message: "AUTH refused: \(message)")
            }
        }
        let reply = try await setup.send(["SENTINEL", "GET-MASTER-ADDR-BY-NAME", configuration.masterName])
        if case .null = reply {
            throw RedisClientError(code: .unavailable, message: "does not monitor '\(configuration.masterName)'")
        }
        guard let parts = reply.array, parts.count == 2, let host = parts[0].string, !host.isEmpty,
            let port = parts[1].string.flatMap({ Int($0) }), (1...65535).contains(port)
        else {
            throw RedisClientError.unexpected(reply, from: "SENTINEL GET-MASTER-ADDR-BY-NAME")
        }
        return .tcp(host: host, port: port)
    }
}
