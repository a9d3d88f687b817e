import Logging
import NIOPosix
import Redis
import TestSupport
import Testing
import Tokens

/// A private redis-server, a client and a `RedisTokenStore` on it, under a key prefix of its own.
struct TokenFixture {
    let server: RedisServer
    let client: RedisClient
    let store: RedisTokenStore

    /// The key the pinned-clock library reads its time from.
    static let clockKey = "test:clock"

    static func start(
        serverConfig: [String] = [], library: FunctionLibrary = .standard, prefix: String = "test:",
        commandTimeout: Duration = .seconds(1)
    ) async throws -> TokenFixture {
        let server = try RedisServer.start(config: serverConfig)
        let client = makeClient(port: server.port, commandTimeout: commandTimeout)
        let store = RedisTokenStore(
            client: client, keyspace: try TokenKeyspace(prefix: prefix), library: library,
            logger: quietLogger)
        try await client.waitUntilConnected()
        try await store.prepare()
        return TokenFixture(server: server, client: client, store: store)
    }

    /// Runs `body` with a fresh fixture and stops it afterwards, also when `body` throws.
    static func with(
        serverConfig: [String] = [], library: FunctionLibrary = .standard, prefix: String = "test:",
        commandTimeout: Duration = .seconds(1), _ body: (TokenFixture) async throws -> Void
    ) async throws {
        let fixture = try await start(
            serverConfig: serverConfig, library: library, prefix: prefix, commandTimeout: commandTimeout)
        do {
            try await body(fixture)
        } catch {
            await fixture.stop()
            throw error
        }
        await fixture.stop()
    }

    /// A client of its own (its own connection) to the fixture's server.
    static func makeClient(port: Int, commandTimeout: Duration = .seconds(1)) -> RedisClient {
        var configuration = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: port))
        configuration.connectionCount = 1
        configuration.commandTimeout = commandTimeout
        return RedisClient(
            configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: quietLogger)
    }

    func stop() async {
        await client.shutdown()
        server.stop()
    }

    /// Redis's clock, unix ms.
    func redisNow() throws -> Int64 {
        let lines = try server.cli("TIME").split(separator: "\n")
        return Int64(lines[0])! * 1000 + Int64(lines[1])! / 1000
    }

    /// Pins the clock of the `.pinnedClock` library.
    func pinClock(at ms: Int64) throws {
        try server.cli("SET", Self.clockKey, String(ms))
    }

    /// A token valid for `lifetime` ms from Redis's now, with a fresh random id.
    func newToken(
        uses: Int = 1, method: String = "GET", bucket: String = "photos", key: String = "users/1/avatar.png",
        lifetime: Int64 = 600_000, tags: [String] = []
    ) throws -> NewToken {
        Self.token(
            now: try redisNow(), uses: uses, method: method, bucket: bucket, key: key, lifetime: lifetime, tags: tags)
    }

    /// A token issued at `now` (unix ms) with a fresh random id.
    static func token(
        now: Int64, uses: Int = 1, method: String = "GET", bucket: String = "photos",
        key: String = "users/1/avatar.png", lifetime: Int64 = 600_000, tags: [String] = []
    ) -> NewToken {
        NewToken(
            id: randomTokenID(), method: method, bucket: bucket, key: key, profile: "default", uses: uses,
            issuedAt: now, expiresAt: now + lifetime, issuer: "svc-upload", tags: tags)
    }

    /// Creates a token and returns it.
    func created(
        uses: Int = 1, method: String = "GET", key: String = "users/1/avatar.png", lifetime: Int64 = 600_000,
        tags: [String] = []
    ) async throws -> NewToken {
        let token = try newToken(uses: uses, method: method, key: key, lifetime: lifetime, tags: tags)
        try await store.create(token)
        return token
    }
}

/// Tests assert on behaviour, not on log lines.
let quietLogger = Logger(label: "tokens-test", factory: { _ in SwiftLogNoOpLogHandler() })

func randomTokenID() -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    return String((0..<22).map { _ in alphabet.randomElement()! })
}

/// The denial code `body` threw, or nil when it succeeded.
func denial<T>(_ body: () async throws -> T) async -> TokenError.Code? {
    do {
        _ = try await body()
        return nil
    } catch let error as TokenError {
        return error.code
    } catch {
        Issue.record("not a TokenError: \(error)")
        return nil
    }
}
