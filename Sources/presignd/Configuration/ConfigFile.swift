/// The configuration file as written by an operator (YAML), before validation.
///
/// Every section rejects keys it does not know, so a misspelt key stops the start instead of
/// being silently ignored. `ConfigurationValidator` turns this into the daemon's settings.
struct ConfigFile: Decodable, Sendable {
    var listen: Listen = Listen()
    var redis: Redis = Redis()
    var profiles: [Profile] = []
    var clients: [Client] = []
    var limits: Limits = Limits()

    enum CodingKeys: String, CodingKey, CaseIterable {
        case listen, redis, profiles, clients, limits
    }

    init() {}

    init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        listen = try c.decodeIfPresent(Listen.self, forKey: .listen) ?? Listen()
        redis = try c.decodeIfPresent(Redis.self, forKey: .redis) ?? Redis()
        profiles = try c.decodeIfPresent([Profile].self, forKey: .profiles) ?? []
        clients = try c.decodeIfPresent([Client].self, forKey: .clients) ?? []
        limits = try c.decodeIfPresent(Limits.self, forKey: .limits) ?? Limits()
    }

    /// Where presignd listens.
    struct Listen: Decodable, Sendable {
        /// `host:port` of the line protocol; empty string disables it.
        var tcp: String = "127.0.0.1:7379"
        /// Path of an optional Unix socket for the line protocol.
        var unix: String?
        /// Permissions of the Unix socket file, octal (default 0660).
        var unixMode: String = "0660"
        /// When true, clients on the Unix socket need no AUTH: the file permissions do the job.
        var unixOpen: Bool = false
        /// `host:port` of the HTTP authorize endpoint; empty string disables it.
        var http: String = "127.0.0.1:7380"
        /// When true, TCP clients need no AUTH and get every role (dev mode only).
        var open: Bool = false

        enum CodingKeys: String, CodingKey, CaseIterable {
            case tcp, unix, unixMode = "unix_mode", unixOpen = "unix_open", http, open
        }

        init() {}

        init(from decoder: any Decoder) throws {
            let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
            tcp = try c.decodeIfPresent(String.self, forKey: .tcp) ?? tcp
            unix = try c.decodeIfPresent(String.self, forKey: .unix)
            unixMode = try c.decodeIfPresent(String.self, forKey: .unixMode) ?? unixMode
            unixOpen = try c.decodeIfPresent(Bool.self, forKey: .unixOpen) ?? unixOpen
            http = try c.decodeIfPresent(String.self, forKey: .http) ?? http
            open = try c.decodeIfPresent(Bool.self, forKey: .open) ?? open
        }
    }

    /// How presignd reaches Redis.
    struct Redis: Decodable, Sendable {
        /// `host:port`; ignored when `socket` is set. Nil means 127.0.0.1:6379 (unless `cluster` or
        /// `sentinels` is set).
        var address: String?
        var socket: String?
        /// Seed nodes (`host:port`) of a Redis Cluster; exclusive with `address` and `socket`.
        var cluster: [String]?
        /// Replicas that must confirm each write (`WAIT`) before it counts; 0 confirms nothing.
        var waitReplicas: Int = 0
        var waitReplicasTimeoutMs: Int = 200
        var username: String?
        var password: Secret?
        /// `host:port` of each sentinel: the primary is asked for on every connect instead of an
        /// `address` or `socket`.
        var sentinels: [String]?
        /// The name the sentinels monitor the primary under.
        var masterName: String?
        var sentinelUsername: String?
        var sentinelPassword: Secret?
        /// Bound on connecting to a sentinel and on each of its replies, per sentinel asked.
        var sentinelTimeoutMs: Int?
        var prefix: String = "presign:"
        var connectTimeoutMs: Int = 1000
        var commandTimeoutMs: Int = 1000
        var maxInFlight: Int = 4096
        var eventsMaxLen: Int = 100_000

        enum CodingKeys: String, CodingKey, CaseIterable {
            case address, socket, cluster, waitReplicas = "wait_replicas"
            case waitReplicasTimeoutMs = "wait_replicas_timeout_ms"
            case username, password, passwordFile = "password_file", passwordEnv = "password_env"
            case sentinels, masterName = "master_name", sentinelUsername = "sentinel_username"
            case sentinelPassword = "sentinel_password", sentinelPasswordFile = "sentinel_password_file",
                sentinelPasswordEnv = "sentinel_password_env"
            case sentinelTimeoutMs = "sentinel_timeout_ms"
            case prefix, connectTimeoutMs = "connect_timeout_ms", commandTimeoutMs = "command_timeout_ms"
            case maxInFlight = "max_in_flight", eventsMaxLen = "events_max_len"
        }

        init() {}

        init(from decoder: any Decoder) throws {
            let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
            address = try c.decodeIfPresent(String.self, forKey: .address)
            socket = try c.decodeIfPresent(String.self, forKey: .socket)
            cluster = try c.decodeIfPresent([String].self, forKey: .cluster)
            waitReplicas = try c.decodeIfPresent(Int.self, forKey: .waitReplicas) ?? waitReplicas
            waitReplicasTimeoutMs =
                try c.decodeIfPresent(Int.self, forKey: .waitReplicasTimeoutMs) ?? waitReplicasTimeoutMs
            username = try c.decodeIfPresent(String.self, forKey: .username)
            password = try Secret.decode(
                from: c, value: .password, file: .passwordFile, env: .passwordEnv)
            sentinels = try c.decodeIfPresent([String].self, forKey: .sentinels)
            masterName = try c.decodeIfPresent(String.self, forKey: .masterName)
            sentinelUsername = try c.decodeIfPresent(String.self, forKey: .sentinelUsername)
            sentinelPassword = try Secret.decode(
                from: c, value: .sentinelPassword, file: .sentinelPasswordFile, env: .sentinelPasswordEnv)
            sentinelTimeoutMs = try c.decodeIfPresent(Int.self, forKey: .sentinelTimeoutMs)
            prefix = try c.decodeIfPresent(String.self, forKey: .prefix) ?? prefix
            connectTimeoutMs = try c.decodeIfPresent(Int.self, forKey: .connectTimeoutMs) ?? connectTimeoutMs
            commandTimeoutMs = try c.decodeIfPresent(Int.self, forKey: .commandTimeoutMs) ?? commandTimeoutMs
            maxInFlight = try c.decodeIfPresent(Int.self, forKey: .maxInFlight) ?? maxInFlight
            eventsMaxLen = try c.decodeIfPresent(Int.self, forKey: .eventsMaxLen) ?? eventsMaxLen
        }
    }

    /// One S3 account, region and endpoint that URLs are signed for.
    struct Profile: Decodable, Sendable {
        var name: String
        var region: String
        /// The S3 endpoint the signature is for; default: AWS's regional endpoint.
        var endpoint: String?
        /// `auto`, `path` or `virtual`.
        var addressing: String = "auto"
        /// The gateway's origin that issued URLs point to (scheme://host[:port]).
        var publicBaseURL: String?
        var accessKeyId: Secret
        var secretAccessKey: Secret
        var sessionToken: Secret?
        /// When the credentials stop working (RFC 3339, e.g. `2026-12-01T00:00:00Z`).
        var credentialsExpireAt: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, region, endpoint, addressing, publicBaseURL = "public_base_url"
            case accessKeyId = "access_key_id", accessKeyIdFile = "access_key_id_file",
                accessKeyIdEnv = "access_key_id_env"
            case secretAccessKey = "secret_access_key", secretAccessKeyFile = "secret_access_key_file",
                secretAccessKeyEnv = "secret_access_key_env"
            case sessionToken = "session_token", sessionTokenFile = "session_token_file",
                sessionTokenEnv = "session_token_env"
            case credentialsExpireAt = "credentials_expire_at"
        }

        init(name: String, region: String, endpoint: String?, publicBaseURL: String?, accessKeyId: String, secretAccessKey: String) {
            self.name = name
            self.region = region
            self.endpoint = endpoint
            self.publicBaseURL = publicBaseURL
            self.accessKeyId = Secret(value: accessKeyId)
            self.secretAccessKey = Secret(value: secretAccessKey)
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            region = try c.decode(String.self, forKey: .region)
            endpoint = try c.decodeIfPresent(String.self, forKey: .endpoint)
            addressing = try c.decodeIfPresent(String.self, forKey: .addressing) ?? addressing
            publicBaseURL = try c.decodeIfPresent(String.self, forKey: .publicBaseURL)
            accessKeyId = try Secret.decodeRequired(
                from: c, value: .accessKeyId, file: .accessKeyIdFile, env: .accessKeyIdEnv)
            secretAccessKey = try Secret.decodeRequired(
                from: c, value: .secretAccessKey, file: .secretAccessKeyFile, env: .secretAccessKeyEnv)
            sessionToken = try Secret.decode(
                from: c, value: .sessionToken, file: .sessionTokenFile, env: .sessionTokenEnv)
            credentialsExpireAt = try c.decodeIfPresent(String.self, forKey: .credentialsExpireAt)
        }
    }

    /// A client of the line protocol: who it is, what it may do.
    struct Client: Decodable, Sendable {
        var id: String
        /// Lower-case hex SHA-256 of the client's secret (`presignd hash-secret` makes one); two
        /// while the secret is rotated (a YAML list: both secrets are accepted).
        var secretSHA256: [String]
        var roles: [String]
        var buckets: [String]?
        var keyPrefixes: [String]?
        var methods: [String]?
        var maxTTL: Int?
        var maxUses: Int?
        var profiles: [String]?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case id, secretSHA256 = "secret_sha256", roles, buckets, keyPrefixes = "key_prefixes", methods
            case maxTTL = "max_ttl", maxUses = "max_uses", profiles
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
            id = try c.decode(String.self, forKey: .id)
            if let one = try? c.decode(String.self, forKey: .secretSHA256) {
                secretSHA256 = [one]
            } else {
                secretSHA256 = try c.decode([String].self, forKey: .secretSHA256)
            }
            roles = try c.decode([String].self, forKey: .roles)
            buckets = try c.decodeIfPresent([String].self, forKey: .buckets)
            keyPrefixes = try c.decodeIfPresent([String].self, forKey: .keyPrefixes)
            methods = try c.decodeIfPresent([String].self, forKey: .methods)
            maxTTL = try c.decodeIfPresent(Int.self, forKey: .maxTTL)
            maxUses = try c.decodeIfPresent(Int.self, forKey: .maxUses)
            profiles = try c.decodeIfPresent([String].self, forKey: .profiles)
        }
    }

    /// Protocol and resource limits (PROTOCOL.md's defaults).
    struct Limits: Decodable, Sendable {
        var maxInlineBytes = 65536
        var maxBulkBytes = 65536
        var maxArguments = 64
        var maxPipelined = 1024
        var maxConnections = 10_000
        var idleTimeoutS = 300
        var defaultTTL = 900
        var maxTTL = 604_800
        var maxUses = 1_000_000
        var defaultLeaseMs = 60_000
        var subscriberMaxEvents = 10_000
        var subscriberMaxBytes = 8 << 20

        enum CodingKeys: String, CodingKey, CaseIterable {
            case maxInlineBytes = "max_inline_bytes", maxBulkBytes = "max_bulk_bytes"
            case maxArguments = "max_arguments", maxPipelined = "max_pipelined"
            case maxConnections = "max_connections", idleTimeoutS = "idle_timeout_s"
            case defaultTTL = "default_ttl", maxTTL = "max_ttl", maxUses = "max_uses"
            case defaultLeaseMs = "default_lease_ms"
            case subscriberMaxEvents = "subscriber_max_events", subscriberMaxBytes = "subscriber_max_bytes"
        }

        init() {}

        init(from decoder: any Decoder) throws {
            let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
            func int(_ key: CodingKeys, _ fallback: Int) throws -> Int {
                try c.decodeIfPresent(Int.self, forKey: key) ?? fallback
            }
            maxInlineBytes = try int(.maxInlineBytes, maxInlineBytes)
            maxBulkBytes = try int(.maxBulkBytes, maxBulkBytes)
            maxArguments = try int(.maxArguments, maxArguments)
            maxPipelined = try int(.maxPipelined, maxPipelined)
            maxConnections = try int(.maxConnections, maxConnections)
            idleTimeoutS = try int(.idleTimeoutS, idleTimeoutS)
            defaultTTL = try int(.defaultTTL, defaultTTL)
            maxTTL = try int(.maxTTL, maxTTL)
            maxUses = try int(.maxUses, maxUses)
            defaultLeaseMs = try int(.defaultLeaseMs, defaultLeaseMs)
            subscriberMaxEvents = try int(.subscriberMaxEvents, subscriberMaxEvents)
            subscriberMaxBytes = try int(.subscriberMaxBytes, subscriberMaxBytes)
        }
    }
}
