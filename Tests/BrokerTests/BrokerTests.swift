import Broker
import Logging
import NIOCore
import NIOPosix
import Redis
import SigV4
import Synchronization
import TestSupport
import Testing
import Tokens
import Wire

/// A broker over a fresh redis-server, with a clock the test moves.
final class BrokerFixture: Sendable {
    let server: RedisServer
    let redis: RedisClient
    let broker: Broker
    let store: RedisTokenStore
    /// Starts at the real time (Redis expires keys by its own clock), on a whole second.
    let clock = ManualClock()
    let loop = MultiThreadedEventLoopGroup.singleton.any()

    init(clients: [ClientPolicy] = [], logger: Logger = Logger(label: "test")) async throws {
        server = try RedisServer.start()
        var configuration = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: server.port))
        configuration.connectTimeout = .seconds(10)
        redis = RedisClient(configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "test"))
        store = RedisTokenStore(client: redis, keyspace: try TokenKeyspace(prefix: "broker-test:"), logger: Logger(label: "test"))
        try await store.prepare()
        let signer = try PresignSigner(
            credentials: Credentials(accessKeyId: "AKIABROKERTEST000001", secretAccessKey: "broker-test-secret"),
            endpoint: S3Endpoint(url: "http://127.0.0.1:9000", region: "us-east-1", addressing: .path))
        let settings = BrokerSettings(
            profiles: [Profile(name: "main", signer: signer, publicBaseURL: "https://files.example.com")],
            clients: clients, limits: BrokerLimits())
        let clock = self.clock
        broker = Broker(settings: settings, store: store, logger: logger, clock: { clock.now })
    }

    func run(_ words: String..., session: inout Session) async throws -> Reply {
        try await run(words, session: &session)
    }

    func run(_ words: [String], session: inout Session) async throws -> Reply {
        let arguments = words.map { ByteBuffer(string: $0) }
        switch broker.dispatch(arguments, session: &session, on: loop) {
        case .now(let reply): return reply
        case .later(let future): return try await future.get()
        case .replies(let replies): return replies.count == 1 ? replies[0] : .array(replies)
        }
    }

    func stop() async {
        await redis.shutdown()
        server.stop()
    }
}

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let milliseconds = Mutex<Int64>(Broker.systemClock() / 1000 * 1000)
    var now: Int64 { milliseconds.withLock { $0 } }
    func advance(by delta: Int64) { milliseconds.withLock { $0 += delta } }
}

/// The broker's command handling on a real Redis, driven without sockets: parsing, limits,
/// authentication and the rules the daemon adds on top of the token store.
@Suite("Broker on a real redis-server")
struct BrokerTests {
    static func field(_ reply: Reply, _ name: String) -> Reply? {
        guard case .map(let pairs) = reply else { return nil }
        return pairs.first { $0.key == .bulk(name) }?.value
    }

    @Test(
        "identical ISSUEs in the same second get distinct tokens that end when asked",
        arguments: [600, 1])
    func identicalIssues(ttl: Int) async throws {
        let fixture = try await BrokerFixture()
        // Signing time is whole seconds: a URL of TTL 1 ends at most a second after the second it
        // was signed in, by Redis' clock too. Start early in a real second, with the fixture's clock
        // on it, so that the three ISSUEs are stored before that. On a busy machine they may not
        // be (ERR "expired before it was stored", the right answer then): the next second is tried.
        var session = Session(client: .open(id: "dev"))
        var ids: Set<String> = []
        var expiries: [Reply] = []
        var urls: [String] = []
        for attempt in 1...5 {
            var real = Broker.systemClock()
            if real % 1000 > 300 {
                try await Task.sleep(for: .milliseconds(1000 - real % 1000))
                real = Broker.systemClock()
            }
            fixture.clock.advance(by: real / 1000 * 1000 - fixture.clock.now)
            var replies: [Reply] = []
            for _ in 0..<3 {
                replies.append(
                    try await fixture.run("ISSUE", "GET", "bucket", "same/key", "TTL", "\(ttl)", session: &session))
            }
            let late = replies.contains {
                if case .error(_, let message) = $0 { return message.contains("expired before it was stored") }
                return false
            }
            if late && ttl == 1 && attempt < 5 { continue }
            for reply in replies {
                ids.insert("\(try #require(Self.field(reply, "id")))")
                expiries.append(try #require(Self.field(reply, "expires_at")))
                guard case .bulk(let url) = try #require(Self.field(reply, "url")) else { return }
                urls.append(String(buffer: url))
            }
            break
        }
        #expect(ids.count == 3)
        let start = Int(fixture.clock.now / 1000)
        #expect(expiries == Array(repeating: .integer(start + ttl), count: 3))
        // The first is signed now for the TTL; each later one some seconds earlier and valid as much
        // longer, a different number each.
        #expect(urls[0].contains("X-Amz-Expires=\(ttl)&"))
        let offsets = try urls.dropFirst().map { url in try #require(Self.expires(in: url)) - ttl }
        #expect(offsets.allSatisfy { (1...IdenticalIssues.maxOffset).contains($0) } && Set(offsets).count == 2, "\(offsets)")
        await fixture.stop()
    }

    static func expires(in url: String) -> Int? {
        guard let range = url.firstRange(of: "X-Amz-Expires=") else { return nil }
        return Int(url[range.upperBound...].prefix { $0.isNumber })
    }

    /// FCALLs the fixture's redis-server has run.
    static func fcalls(_ fixture: BrokerFixture) throws -> Int {
        let stats = try fixture.server.cli("INFO", "commandstats")
        guard let line = stats.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cmdstat_fcall:calls=") })
        else { return 0 }
        return Int(line.dropFirst("cmdstat_fcall:calls=".count).prefix { $0.isNumber }) ?? 0
    }

    @Test("one second serves 900 identical ISSUEs, one store call each but one, then ERR saying so; another TTL gets more")
    func identicalIssuesPerSecond() async throws {
        let fixture = try await BrokerFixture()
        var session = Session(client: .open(id: "dev"))
        var ids: Set<String> = []
        let before = try Self.fcalls(fixture)
        for _ in 0...IdenticalIssues.maxOffset {
            let reply = try await fixture.run("ISSUE", "GET", "bucket", "popular", "TTL", "600", session: &session)
            ids.insert("\(try #require(Self.field(reply, "id")))")
        }
        #expect(ids.count == IdenticalIssues.maxOffset + 1)
        // Offsets come from memory: only the second ISSUE tried a taken one (the first's), which
        // made this instance follow the URL.
        #expect(try Self.fcalls(fixture) - before == IdenticalIssues.maxOffset + 2)
        let refused = try await fixture.run("ISSUE", "GET", "bucket", "popular", "TTL", "600", session: &session)
        #expect(refused == .error(code: "ERR", message: "too many identical ISSUEs in one second; try again"))
        // Said without trying the store again.
        #expect(try Self.fcalls(fixture) - before == IdenticalIssues.maxOffset + 2)
        let other = try await fixture.run("ISSUE", "GET", "bucket", "popular", "TTL", "601", session: &session)
        #expect(Self.field(other, "id") != nil)
        // The next second serves the first TTL again.
        fixture.clock.advance(by: 1000)
        let next = try await fixture.run("ISSUE", "GET", "bucket", "popular", "TTL", "600", session: &session)
        #expect(Self.field(next, "id") != nil)
        await fixture.stop()
    }

    @Test("two instances issuing the same URL in one second: every ISSUE gets its own token, few retries")
    func identicalIssuesOnTwoInstances() async throws {
        let fixture = try await BrokerFixture()
        let other = Broker(settings: fixture.broker.settings, store: fixture.store, logger: Logger(label: "test"), clock: { [clock = fixture.clock] in clock.now })
        var session = Session(client: .open(id: "dev"))
        var ids: Set<String> = []
        let before = try Self.fcalls(fixture)
        for index in 0..<200 {
            let broker = index % 2 == 0 ? fixture.broker : other
            let arguments = ["ISSUE", "GET", "bucket", "popular", "TTL", "600"].map { ByteBuffer(string: $0) }
            let reply: Reply
            switch broker.dispatch(arguments, session: &session, on: fixture.loop) {
            case .now(let now): reply = now
            case .later(let future): reply = try await future.get()
            case .replies(let replies): reply = replies[0]
            }
            ids.insert("\(try #require(Self.field(reply, "id"), "\(reply)"))")
        }
        #expect(ids.count == 200)
        // Both start at offset 0 (one retry for the second), then at random offsets of their own.
        let calls = try Self.fcalls(fixture) - before
        #expect(calls < 240, "\(calls) store calls for 200 ISSUEs")
        await fixture.stop()
    }

    @Test("an ISSUE whose URL ends before it is stored gets ERR saying so, not the EXPIRED denial")
    func issueTooShort() async throws {
        let fixture = try await BrokerFixture()
        fixture.clock.advance(by: -5000)  // signed five seconds ago, by Redis' clock
        var session = Session(client: .open(id: "dev"))
        let reply = try await fixture.run("ISSUE", "GET", "bucket", "short", "TTL", "1", session: &session)
        guard case .error(let code, let message) = reply else {
            Issue.record("expected an error, got \(reply)")
            return
        }
        #expect(code == "ERR")
        #expect(message.contains("ask for a longer TTL"))
        await fixture.stop()
    }

    @Test("at the longest lifetime, an identical ISSUE ends earlier instead")
    func identicalIssuesAtTheLongestLifetime() async throws {
        let fixture = try await BrokerFixture()
        var session = Session(client: .open(id: "dev"))
        var expiries: [Reply] = []
        for _ in 0..<2 {
            let reply = try await fixture.run("ISSUE", "GET", "bucket", "k", "TTL", "604800", session: &session)
            expiries.append(try #require(Self.field(reply, "expires_at")))
        }
        let start = Int(fixture.clock.now / 1000)
        // The second is signed some seconds earlier and cannot be valid longer: it ends as much earlier.
        #expect(expiries[0] == .integer(start + 604_800))
        guard case .integer(let second) = expiries[1] else { Issue.record("no expiry"); return }
        #expect((start + 604_800 - IdenticalIssues.maxOffset..<start + 604_800).contains(second))
        await fixture.stop()
    }

    @Test("issued URLs point at the profile's public base URL, signed for the S3 host")
    func publicBaseURL() async throws {
        let fixture = try await BrokerFixture()
        var session = Session(client: .open(id: "dev"))
        let reply = try await fixture.run("ISSUE", "PUT", "bucket", "a b", session: &session)
        guard case .bulk(let url) = try #require(Self.field(reply, "url")) else { Issue.record("no url"); return }
        let text = String(buffer: url)
        #expect(text.hasPrefix("https://files.example.com/bucket/a%20b?X-Amz-Algorithm=AWS4-HMAC-SHA256"))
        // The gateway forwards path and query unchanged to S3, so the URL verifies for the S3 host.
        let consumed = try await fixture.run("CONSUME", text, session: &session)
        #expect(consumed == .integer(0))
        await fixture.stop()
    }

    @Test(
        "bad arguments get an error naming the problem and change nothing",
        arguments: [
            (["ISSUE", "PATCH", "b", "k"], "method must be GET, PUT, HEAD or DELETE"),
            (["ISSUE", "GET", "b", "k", "TTL", "0"], "TTL must be a whole number of seconds, at least 1"),
            (["ISSUE", "GET", "b", "k", "TTL", "604801"], "ERR TTL 604801 exceeds limits.max_ttl (604800 seconds)"),
            (["ISSUE", "GET", "b", "k", "USES", "1000001"], "ERR USES 1000001 exceeds limits.max_uses (1000000)"),
            (["ISSUE", "GET", "b", "k", "USES", "abc"], "USES must be a whole number, at least 1"),
            (["ISSUE", "GET", "b", "k", "COLOUR", "red"], "unknown ISSUE option 'COLOUR'"),
            (["ISSUE", "GET", "b", "k", "PARAM", "X-Amz-Date", "1"], "PARAM name must be non-empty and must not start with X-Amz-"),
            (["CONSUME", "not-an-id"], "target must be a token id (22 base64url characters) or a URL"),
            (["CONSUME", "http://127.0.0.1:9000/b/k?X-Amz-Signature=abc"], "missing X-Amz-Algorithm"),
            (
                [
                    "CONSUME",
                    "http://127.0.0.1:9000/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                        + "&X-Amz-Credential=AKIAUNKNOWN%2F20261129%2Fus-east-1%2Fs3%2Faws4_request"
                        + "&X-Amz-Date=20261129T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host"
                        + "&X-Amz-Signature=" + String(repeating: "0", count: 64),
                ],
                "the URL's access key belongs to no configured profile"
            ),
            (["RESERVE", "AAAAAAAAAAAAAAAAAAAAAA", "LEASE", "-1"], "LEASE must be an integer from 1 to 604800000"),
            (["FLUSHALL"], "unknown command 'FLUSHALL'"),
        ])
    func badArguments(words: [String], message: String) async throws {
        let fixture = try await BrokerFixture()
        var session = Session(client: .open(id: "dev"))
        let arguments = words.map { ByteBuffer(string: $0) }
        guard case .now(let reply) = fixture.broker.dispatch(arguments, session: &session, on: fixture.loop) else {
            Issue.record("bad input reached Redis")
            return
        }
        guard case .error(let code, let text) = reply else { Issue.record("not an error: \(reply)"); return }
        // A message may start with the code it must come with.
        if message.hasPrefix("ERR ") {
            #expect(code == "ERR" && text == message.dropFirst(4))
        } else {
            #expect(text == message)
        }
        #expect(try fixture.server.cli("DBSIZE") == "0")
        await fixture.stop()
    }

    @Test("AUTH checks the secret's hash; roles limit commands; QUIT asks to close")
    func authentication() async throws {
        let secret = "a-long-random-client-secret-value"
        let client = ClientPolicy(id: "gw", secretSHA256: sha256(Array(secret.utf8)), roles: [.gateway])
        let fixture = try await BrokerFixture(clients: [client])
        var session = Session()
        #expect(try await fixture.run("CHECK", "AAAAAAAAAAAAAAAAAAAAAA", session: &session)
            == .error(code: "NOAUTH", message: "Authentication required."))
        #expect(try await fixture.run("AUTH", "gw", "wrong", session: &session)
            == .error(code: "WRONGPASS", message: "invalid username-password pair or user is disabled."))
        #expect(try await fixture.run("AUTH", "nobody", secret, session: &session)
            == .error(code: "WRONGPASS", message: "invalid username-password pair or user is disabled."))
        #expect(try await fixture.run("AUTH", "gw", secret, session: &session) == .simple("OK"))
        #expect(try await fixture.run("CHECK", "AAAAAAAAAAAAAAAAAAAAAA", session: &session) == .null)
        let issue = try await fixture.run("ISSUE", "GET", "b", "k", session: &session)
        guard case .error(let code, _) = issue else { Issue.record("a gateway issued a URL"); return }
        #expect(code == "NOPERM")
        #expect(try await fixture.run("QUIT", session: &session) == .simple("OK"))
        #expect(session.closeAfterReply)
        await fixture.stop()
    }

    @Test("a URL past its expiry is EXPIRED before Redis is asked; at its last second it still works")
    func expiryBoundary() async throws {
        let fixture = try await BrokerFixture()
        var session = Session(client: .open(id: "dev"))
        let reply = try await fixture.run("ISSUE", "GET", "bucket", "k", "TTL", "60", "USES", "2", session: &session)
        guard case .bulk(let url) = try #require(Self.field(reply, "url")) else { return }
        fixture.clock.advance(by: 60_000)
        #expect(try await fixture.run("CONSUME", String(buffer: url), session: &session) == .integer(1))
        fixture.clock.advance(by: 1_000)
        #expect(try await fixture.run("CONSUME", String(buffer: url), session: &session)
            == .error(code: "EXPIRED", message: "the URL expired"))
        await fixture.stop()
    }
}
