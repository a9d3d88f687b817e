import Broker
import Foundation
import Redis
import Server
import SigV4
import Yams

/// The daemon's validated settings, built from a configuration file and environment overrides.
struct DaemonSettings: Sendable {
    var broker: BrokerSettings
    var server: LineServerConfiguration
    /// The HTTP authorize endpoint; nil when `listen.http` is empty.
    var http: HTTPServerConfiguration?
    /// The one Redis server; on a cluster, the settings of every node connection.
    var redis: RedisConfiguration
    /// Set when `redis.cluster` names seed nodes: presignd runs on Redis Cluster.
    var redisCluster: RedisClusterConfiguration?
    var keyPrefix: String
    var eventsMaxLen: Int
    /// What is valid but probably not what the operator meant (a profile with no gateway, expired
    /// credentials, a secret file others can read, an open listener others can reach): logged at
    /// start and on reload, printed by `check-config`. Each names its key.
    var warnings: [String]

    /// Reads and validates `path`. Environment variables override single settings:
    /// `PRESIGND_REDIS_ADDRESS`, `PRESIGND_REDIS_SOCKET`, `PRESIGND_REDIS_USERNAME`,
    /// `PRESIGND_REDIS_PASSWORD`, `PRESIGND_LISTEN_TCP`, `PRESIGND_LISTEN_UNIX`, `PRESIGND_LISTEN_HTTP`.
    static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(
        ConfigurationError
    ) -> DaemonSettings {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(key: "", problem: "cannot read the configuration file \(path)")
        }
        return try parse(yaml: text, environment: environment)
    }

    static func parse(yaml: String, environment: [String: String]) throws(ConfigurationError) -> DaemonSettings {
        var file: ConfigFile
        do {
            file = try YAMLDecoder().decode(ConfigFile.self, from: yaml.isEmpty ? "{}" : yaml)
        } catch {
            // Never the error's own description: Yams quotes the offending line, which may hold a secret.
            throw ConfigurationError(decoding: error)
        }
        // Either one says where Redis is, in place of whichever the file gives.
        if let value = environment["PRESIGND_REDIS_ADDRESS"] {
            file.redis.address = value
            file.redis.socket = nil
        }
        if let value = environment["PRESIGND_REDIS_SOCKET"] {
            file.redis.socket = value
            if environment["PRESIGND_REDIS_ADDRESS"] == nil { file.redis.address = nil }
        }
        if let value = environment["PRESIGND_REDIS_USERNAME"] { file.redis.username = value }
        if let value = environment["PRESIGND_REDIS_PASSWORD"] { file.redis.password = Secret(value: value) }
        if let value = environment["PRESIGND_LISTEN_TCP"] { file.listen.tcp = value }
        if let value = environment["PRESIGND_LISTEN_UNIX"] { file.listen.unix = value }
        if let value = environment["PRESIGND_LISTEN_HTTP"] { file.listen.http = value }
        return try validate(file)
    }

    static func validate(_ file: ConfigFile) throws(ConfigurationError) -> DaemonSettings {
        let limits = file.limits
        try positive(limits.maxInlineBytes, "limits.max_inline_bytes")
        try positive(limits.maxBulkBytes, "limits.max_bulk_bytes")
        try positive(limits.maxArguments, "limits.max_arguments")
        try positive(limits.maxPipelined, "limits.max_pipelined")
        try positive(limits.maxConnections, "limits.max_connections")
        // A bound, not only a sign: the timeout is kept in nanoseconds, and a year of seconds
        // overflowed that arithmetic on the first connection.
        guard (1...31_536_000).contains(limits.idleTimeoutS) else {
            throw ConfigurationError(key: "limits.idle_timeout_s", problem: "must be from 1 to 31536000 seconds (a year)")
        }
        try positive(limits.defaultLeaseMs, "limits.default_lease_ms")
        try positive(limits.subscriberMaxEvents, "limits.subscriber_max_events")
        try positive(limits.subscriberMaxBytes, "limits.subscriber_max_bytes")
        guard (1...604_800).contains(limits.maxTTL) else {
            throw ConfigurationError(key: "limits.max_ttl", problem: "must be from 1 to 604800 seconds")
        }
        guard (1...limits.maxTTL).contains(limits.defaultTTL) else {
            throw ConfigurationError(key: "limits.default_ttl", problem: "must be from 1 to limits.max_ttl")
        }
        guard (1...1_000_000).contains(limits.maxUses) else {
            throw ConfigurationError(key: "limits.max_uses", problem: "must be from 1 to 1000000")
        }

        var server = LineServerConfiguration()
        if !file.listen.tcp.isEmpty {
            server.tcp = try hostPort(file.listen.tcp, key: "listen.tcp")
        }
        // Empty means none, as for listen.tcp and listen.http (so PRESIGND_LISTEN_UNIX= turns it
        // off). Bound as it is, an empty path would make an abstract socket: no file, so no
        // permissions to check.
        server.unixSocket = file.listen.unix?.isEmpty == false ? file.listen.unix : nil
        guard let mode = UInt32(file.listen.unixMode, radix: 8), mode <= 0o777 else {
            throw ConfigurationError(key: "listen.unix_mode", problem: "must be octal permissions such as 0660")
        }
        server.unixSocketMode = mode
        server.unixOpen = file.listen.unixOpen
        server.tcpOpen = file.listen.open
        if server.tcp == nil && server.unixSocket == nil {
            throw ConfigurationError(key: "listen", problem: "neither tcp nor unix is set: presignd would not listen")
        }
        server.wire.maxInlineBytes = limits.maxInlineBytes
        server.wire.maxBulkBytes = limits.maxBulkBytes
        server.wire.maxArguments = limits.maxArguments
        server.maxPipelined = limits.maxPipelined
        server.maxConnections = limits.maxConnections
        server.idleTimeout = .seconds(limits.idleTimeoutS)
        server.subscriberMaxEvents = limits.subscriberMaxEvents
        server.subscriberMaxBytes = limits.subscriberMaxBytes
        var http: HTTPServerConfiguration?
        if !file.listen.http.isEmpty {
            let (host, port) = try hostPort(file.listen.http, key: "listen.http")
            var configuration = HTTPServerConfiguration(host: host, port: port)
            configuration.maxConnections = limits.maxConnections
            configuration.idleTimeout = .seconds(limits.idleTimeoutS)
            http = configuration
        }

        let redisFile = file.redis
        // One way to reach Redis: a server (address, or socket, which wins over address), the primary
        // the sentinels name, or a cluster.
        var redis: RedisConfiguration
        var redisCluster: RedisClusterConfiguration?
        if let seeds = redisFile.cluster {
            let others = [
                ("redis.address", redisFile.address != nil), ("redis.socket", redisFile.socket != nil),
                ("redis.sentinels", redisFile.sentinels != nil),
            ]
            if let other = others.first(where: \.1)?.0 {
                throw ConfigurationError(key: "redis.cluster", problem: "cannot be combined with \(other)")
            }
            guard !seeds.isEmpty else { throw ConfigurationError(key: "redis.cluster", problem: "must name a seed node") }
            var endpoints: [RedisConfiguration.Endpoint] = []
            for seed in seeds {
                let (host, port) = try hostPort(seed, key: "redis.cluster")
                endpoints.append(.tcp(host: host, port: port))
            }
            redis = RedisConfiguration(endpoint: endpoints[0])
            redisCluster = RedisClusterConfiguration(seeds: endpoints, node: redis)
        } else {
            redis = RedisConfiguration(endpoint: try redisEndpoint(redisFile))
        }
        guard redisFile.waitReplicas >= 0 else {
            throw ConfigurationError(key: "redis.wait_replicas", problem: "must be 0 (no wait) or more")
        }
        try positive(redisFile.waitReplicasTimeoutMs, "redis.wait_replicas_timeout_ms")
        var redisWarnings: [String] = []
        if redisFile.maxInFlight < file.limits.maxPipelined {
            // One client's pipeline alone could fill a Redis connection: its requests past the
            // bound would be answered UNAVAILABLE while Redis is fine. (A warning, not an error:
            // earlier versions' sample configuration had 1000 against 1024.)
            redisWarnings.append(
                "redis.max_in_flight (\(redisFile.maxInFlight)) is below limits.max_pipelined (\(file.limits.maxPipelined)): one client's pipeline can fill a Redis connection, and its requests past it are answered UNAVAILABLE")
        }
        if redisFile.waitReplicas > 0 && redisFile.waitReplicasTimeoutMs >= redisFile.commandTimeoutMs {
            // The command's deadline covers its WAIT: it would end first, as outcome unknown.
            redisWarnings.append(
                "redis.wait_replicas_timeout_ms (\(redisFile.waitReplicasTimeoutMs)) is not below redis.command_timeout_ms (\(redisFile.commandTimeoutMs)): a write whose replicas are slow hits the command timeout first, which closes the Redis connection and fails every request on it")
        }
        redis.username = redisFile.username
        redis.password = redisFile.password?.value
        redis.clientName = "presignd"
        try positive(redisFile.connectTimeoutMs, "redis.connect_timeout_ms")
        try positive(redisFile.commandTimeoutMs, "redis.command_timeout_ms")
        try positive(redisFile.maxInFlight, "redis.max_in_flight")
        try positive(redisFile.eventsMaxLen, "redis.events_max_len")
        redis.connectTimeout = .milliseconds(redisFile.connectTimeoutMs)
        redis.commandTimeout = .milliseconds(redisFile.commandTimeoutMs)
        redis.maxInFlight = redisFile.maxInFlight
        redis.replicaAcknowledgements = redisFile.waitReplicas
        redis.replicaTimeout = .milliseconds(redisFile.waitReplicasTimeoutMs)
        redisCluster?.node = redis
        guard !redisFile.prefix.isEmpty, !redisFile.prefix.contains("{"), !redisFile.prefix.contains("}") else {
            throw ConfigurationError(key: "redis.prefix", problem: "must be non-empty and free of { and } (hash tags)")
        }

        var profiles: [Profile] = []
        var accessKeys: Set<String> = []
        var warnings = listenerWarnings(file.listen, server: server) + redisWarnings
        for (index, entry) in file.profiles.enumerated() {
            let key = "profiles[\(index)]"
            guard !entry.name.isEmpty, !profiles.contains(where: { $0.name == entry.name }) else {
                throw ConfigurationError(key: "\(key).name", problem: "must be non-empty and unique")
            }
            guard var addressing = S3Endpoint.Addressing(rawValue: entry.addressing) else {
                throw ConfigurationError(key: "\(key).addressing", problem: "must be auto, path or virtual")
            }
            // A gateway forwards the path it is given, so its URLs must carry the bucket there: with
            // public_base_url, `auto` is path style (on AWS it would otherwise be virtual-hosted,
            // and the bucket would be lost with the host the gateway's origin replaces).
            if entry.publicBaseURL != nil && addressing == .auto { addressing = .path }
            var expiresAt: Int64?
            if let text = entry.credentialsExpireAt {
                guard let date = ISO8601DateFormatter().date(from: text) else {
                    throw ConfigurationError(key: "\(key).credentials_expire_at", problem: "must be RFC 3339, e.g. 2026-12-01T00:00:00Z")
                }
                expiresAt = Int64(date.timeIntervalSince1970)
                if date <= Date() {
                    warnings.append("\(key).credentials_expire_at: \(text) is past: every ISSUE with profile \(entry.name) fails")
                }
            }
            let credentials = Credentials(
                accessKeyId: entry.accessKeyId.value, secretAccessKey: entry.secretAccessKey.value,
                sessionToken: entry.sessionToken?.value, expiresAt: expiresAt)
            guard accessKeys.insert(credentials.accessKeyId).inserted else {
                throw ConfigurationError(key: "\(key).access_key_id", problem: "used by two profiles: URLs could not be told apart")
            }
            let endpoint: S3Endpoint
            do {
                if let url = entry.endpoint {
                    endpoint = try S3Endpoint(url: url, region: entry.region, addressing: addressing)
                } else {
                    endpoint = try S3Endpoint.aws(region: entry.region, addressing: addressing)
                }
            } catch {
                throw ConfigurationError(key: "\(key).endpoint", problem: error.message)
            }
            var publicBase: String?
            if let base = entry.publicBaseURL {
                // The gateway's origin, read as an endpoint is (host, port 1..65535, no user info,
                // query or fragment: each would end up in every URL issued), and with no path.
                let origin = try? S3Endpoint(url: base, region: entry.region)
                guard let origin, origin.basePath.isEmpty else {
                    throw ConfigurationError(
                        key: "\(key).public_base_url",
                        problem: "must be http(s)://host[:port] with no path, user info, query or fragment")
                }
                guard addressing != .virtual else {
                    throw ConfigurationError(
                        key: "\(key).addressing",
                        problem: "a profile with public_base_url needs path-style URLs (the bucket must be in the path the gateway forwards)")
                }
                publicBase = base.hasSuffix("/") ? String(base.dropLast()) : base
            } else {
                warnings.append(
                    "\(key).public_base_url is not set: profile \(entry.name)'s URLs point straight at S3, so presignd tracks them but cannot stop a second use")
            }
            let signer: PresignSigner
            do {
                signer = try PresignSigner(credentials: credentials, endpoint: endpoint)
            } catch {
                throw ConfigurationError(key: key, problem: error.message)
            }
            profiles.append(Profile(name: entry.name, signer: signer, publicBaseURL: publicBase))
        }

        var clients: [ClientPolicy] = []
        for (index, entry) in file.clients.enumerated() {
            let key = "clients[\(index)]"
            guard !entry.id.isEmpty, !entry.id.contains(" "), !clients.contains(where: { $0.id == entry.id }) else {
                throw ConfigurationError(key: "\(key).id", problem: "must be non-empty, without spaces, and unique")
            }
            // The audit trail names a caller of the HTTP endpoint `http:<address>`.
            guard !entry.id.lowercased().hasPrefix("http:") else {
                throw ConfigurationError(key: "\(key).id", problem: "must not start with http: (the audit trail's name for HTTP callers)")
            }
            let hashes = entry.secretSHA256.compactMap(hexBytes).filter { $0.count == 32 }
            guard hashes.count == entry.secretSHA256.count, (1...2).contains(hashes.count) else {
                throw ConfigurationError(
                    key: "\(key).secret_sha256",
                    problem: "must be 64 hex characters (presignd hash-secret makes one), or a list of two while rotating")
            }
            let hash = hashes[0]
            if hashes.contains(where: { $0.allSatisfy { $0 == 0 } }) {
                warnings.append("\(key).secret_sha256 is all zeros, a placeholder: no secret matches it (presignd hash-secret makes one)")
            }
            var roles: Set<Role> = []
            for role in entry.roles {
                guard let parsed = Role(rawValue: role) else {
                    throw ConfigurationError(key: "\(key).roles", problem: "unknown role '\(role)' (expected issue, gateway, admin)")
                }
                roles.insert(parsed)
            }
            guard !roles.isEmpty else { throw ConfigurationError(key: "\(key).roles", problem: "must name at least one role") }
            if let methods = entry.methods {
                for method in methods where S3Method(rawValue: method.uppercased()) == nil {
                    throw ConfigurationError(key: "\(key).methods", problem: "unknown method '\(method)' (expected GET, PUT, HEAD, DELETE)")
                }
            }
            if let maxTTL = entry.maxTTL, !(1...limits.maxTTL).contains(maxTTL) {
                throw ConfigurationError(key: "\(key).max_ttl", problem: "must be from 1 to limits.max_ttl (\(limits.maxTTL))")
            }
            if let maxUses = entry.maxUses, !(1...limits.maxUses).contains(maxUses) {
                throw ConfigurationError(key: "\(key).max_uses", problem: "must be from 1 to limits.max_uses (\(limits.maxUses))")
            }
            for name in entry.profiles ?? [] where !profiles.contains(where: { $0.name == name }) {
                throw ConfigurationError(key: "\(key).profiles", problem: "unknown profile '\(name)'")
            }
            clients.append(
                ClientPolicy(
                    id: entry.id, secretSHA256: hash, roles: roles, buckets: entry.buckets.map(Set.init),
                    keyPrefixes: entry.keyPrefixes, methods: entry.methods.map { Set($0.map { $0.uppercased() }) },
                    maxTTL: entry.maxTTL, maxUses: entry.maxUses, profiles: entry.profiles,
                    alternateSecretSHA256: hashes.count == 2 ? hashes[1] : nil))
        }

        if profiles.isEmpty { warnings.append("profiles: none: every ISSUE is refused") }
        if clients.isEmpty && !server.tcpOpen && !server.unixOpen {
            warnings.append("clients: none, and no listener is open: nobody can authenticate")
        }
        for (key, secret) in [("redis.password_file", redisFile.password), ("redis.sentinel_password_file", redisFile.sentinelPassword)]
            + file.profiles.enumerated().flatMap({ index, entry in
                [
                    ("profiles[\(index)].access_key_id_file", entry.accessKeyId),
                    ("profiles[\(index)].secret_access_key_file", entry.secretAccessKey),
                    ("profiles[\(index)].session_token_file", entry.sessionToken),
                ]
            })
        {
            if let path = secret?.fileReadableByOthers {
                warnings.append("\(key): \(path) can be read by every local user (chmod o-r)")
            }
        }

        var brokerLimits = BrokerLimits()
        brokerLimits.defaultTTL = limits.defaultTTL
        brokerLimits.maxTTL = limits.maxTTL
        brokerLimits.maxUses = limits.maxUses
        brokerLimits.defaultLeaseMs = limits.defaultLeaseMs
        return DaemonSettings(
            broker: BrokerSettings(profiles: profiles, clients: clients, limits: brokerLimits),
            server: server, http: http, redis: redis, redisCluster: redisCluster, keyPrefix: redisFile.prefix,
            eventsMaxLen: redisFile.eventsMaxLen, warnings: warnings)
    }

    /// An open listener others can reach: TCP on an address other than loopback, or a Unix
    /// socket whose mode lets every local user connect.
    private static func listenerWarnings(_ listen: ConfigFile.Listen, server: LineServerConfiguration) -> [String] {
        var warnings: [String] = []
        if server.tcpOpen, let (host, _) = server.tcp, !(host.hasPrefix("127.") || ["::1", "localhost"].contains(host)) {
            warnings.append("listen.open: the TCP listener on \(host) serves every role without AUTH to anyone who reaches it")
        }
        // Connecting to a Unix socket takes write permission on it.
        if server.unixOpen, server.unixSocket != nil, server.unixSocketMode & 0o002 != 0 {
            warnings.append(
                "listen.unix_mode \(listen.unixMode): every local user may connect to the open Unix socket and use every role")
        }
        return warnings
    }

    /// One of `sentinels` (with `master_name`), `socket` or `address` (the default).
    private static func redisEndpoint(_ file: ConfigFile.Redis) throws(ConfigurationError) -> RedisConfiguration.Endpoint {
        guard let list = file.sentinels else {
            for (isSet, key) in [
                (file.masterName != nil, "master_name"), (file.sentinelUsername != nil, "sentinel_username"),
                (file.sentinelTimeoutMs != nil, "sentinel_timeout_ms"),
            ] where isSet {
                throw ConfigurationError(key: "redis.\(key)", problem: "only applies with redis.sentinels")
            }
            guard file.sentinelPassword == nil else {
                throw ConfigurationError(key: "redis.sentinel_password", problem: "only applies with redis.sentinels")
            }
            if file.socket != nil && file.address != nil {
                throw ConfigurationError(key: "redis.socket", problem: "give either redis.address or redis.socket, not both")
            }
            if let socket = file.socket { return .unix(path: socket) }
            let (host, port) = try hostPort(file.address ?? "127.0.0.1:6379", key: "redis.address")
            return .tcp(host: host, port: port)
        }
        guard file.address == nil, file.socket == nil else {
            throw ConfigurationError(
                key: "redis.sentinels", problem: "give either sentinels or address/socket: the sentinels name the primary")
        }
        guard !list.isEmpty else { throw ConfigurationError(key: "redis.sentinels", problem: "must list at least one sentinel") }
        guard let name = file.masterName, !name.isEmpty, !name.contains(" ") else {
            throw ConfigurationError(
                key: "redis.master_name", problem: "required with redis.sentinels: the name the sentinels monitor (no spaces)")
        }
        var sentinels: [RedisConfiguration.Endpoint] = []
        for (index, text) in list.enumerated() {
            let (host, port) = try hostPort(text, key: "redis.sentinels[\(index)]")
            sentinels.append(.tcp(host: host, port: port))
        }
        var sentinel = RedisSentinelConfiguration(sentinels: sentinels, masterName: name)
        sentinel.username = file.sentinelUsername
        sentinel.password = file.sentinelPassword?.value
        if let timeout = file.sentinelTimeoutMs {
            try positive(timeout, "redis.sentinel_timeout_ms")
            sentinel.queryTimeout = .milliseconds(timeout)
        }
        return .sentinel(sentinel)
    }

    private static func positive(_ value: Int, _ key: String) throws(ConfigurationError) {
        guard value > 0 else { throw ConfigurationError(key: key, problem: "must be a positive whole number") }
    }

    /// `host:port`, `[v6]:port`.
    static func hostPort(_ text: String, key: String) throws(ConfigurationError) -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else {
            throw ConfigurationError(key: key, problem: "must be host:port, e.g. 127.0.0.1:7379")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw ConfigurationError(key: key, problem: "must be host:port, e.g. 127.0.0.1:7379") }
        return (host, port)
    }

    private static func hexBytes(_ text: String) -> [UInt8]? {
        let digits = Array(text.lowercased().utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = hexValue(digits[index]), let low = hexValue(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case 0x30...0x39: digit - 0x30
        case 0x61...0x66: digit - 0x61 + 10
        default: nil
        }
    }
}
