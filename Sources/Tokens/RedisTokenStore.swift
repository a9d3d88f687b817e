import Logging
import Redis
import Synchronization

/// `TokenStore` on Redis: each operation is one `FCALL` into the `FunctionLibrary`.
///
/// Standalone Redis (or a Sentinel-managed primary): revoking by object or tag touches tokens of many
/// hash slots in one call, which Redis Cluster would refuse.
package final class RedisTokenStore: TokenStore {
    /// The key names in use.
    package let keyspace: TokenKeyspace
    /// The Function library this store calls.
    package let library: FunctionLibrary
    private let client: RedisClient
    private let eventStreamMaxLength: Int
    private let waitReplicas: Duration?
    private let logger: Logger
    private let sent = Atomic<Int>(0)
    private let waiting = Atomic<Int>(0)

    /// A store over `client`. `eventStreamMaxLength` bounds the event Stream (`XADD … MAXLEN ~`).
    ///
    /// `waitReplicas`, for a replicated primary (Sentinel): every consume and reserve is followed on
    /// its connection by `WAIT 1 <ms>`, and one that no replica confirmed within that time answers
    /// `.unavailable` instead of success. Replication is asynchronous, so without it a use acknowledged
    /// just before the primary dies can be missing on the promoted replica, and the token allowed
    /// again (redis.md §3.4, §3.9). It costs one replica round trip per use, and a connection waits
    /// behind each `WAIT`.
    package init(
        client: RedisClient, keyspace: TokenKeyspace, eventStreamMaxLength: Int = 100_000,
        library: FunctionLibrary = .standard, waitReplicas: Duration? = nil, logger: Logger
    ) {
        precondition(eventStreamMaxLength > 0, "the event stream must keep at least one entry")
        self.waitReplicas = waitReplicas
        self.client = client
        self.keyspace = keyspace
        self.eventStreamMaxLength = eventStreamMaxLength
        self.library = library
        self.logger = logger
    }

    /// Loads the Function library with `FUNCTION LOAD REPLACE` (the same source loads idempotently).
    ///
    /// A Redis user restricted to what presignd needs may not run `FUNCTION LOAD` (NOPERM): then
    /// the library must already be loaded, by a deploy user, with exactly this source (`FUNCTION
    /// LIST … WITHCODE`). Anything else fails closed with a message saying how to load it.
    package func prepare() async throws(TokenError) {
        let reply = try await send(["FUNCTION", "LOAD", "REPLACE", library.source])
        guard let message = reply.errorMessage else {
            logger.info("token function library loaded", metadata: ["redis.library": "\(library.name)"])
            return
        }
        guard message.hasPrefix("NOPERM") else {
            throw TokenError(.unavailable, "Redis refused the function library: \(message)")
        }
        switch try await loadedSource() {
        case .some(let source) where source == library.source:
            logger.info(
                "token function library already loaded by someone else; this Redis user may not load it",
                metadata: ["redis.library": "\(library.name)"])
        case .some:
            throw notLoadable("is loaded with different code (another presignd version?)")
        case .none:
            throw notLoadable("is not loaded")
        }
    }

    /// The source of this store's library as Redis holds it, nil when it is not loaded.
    private func loadedSource() async throws(TokenError) -> String? {
        let reply = try await send(["FUNCTION", "LIST", "LIBRARYNAME", library.name, "WITHCODE"])
        if let message = reply.errorMessage {
            throw notLoadable("cannot be checked (FUNCTION LIST: \(message))")
        }
        return Self.libraryFields(in: reply, named: library.name)?["library_code"]?.string
    }

    /// The fail-closed error when this Redis user cannot load the library itself; logged at error
    /// level, since nothing works until an operator acts.
    private func notLoadable(_ problem: String) -> TokenError {
        let error = TokenError(
            .unavailable,
            "the Redis user may not run FUNCTION LOAD and the token function library \(library.name) \(problem): "
                + "load it as a user allowed to, e.g. `presignd function-library | redis-cli --user <deploy user> "
                + "--askpass -x FUNCTION LOAD REPLACE`")
        logger.error("\(error.message)", metadata: ["redis.library": "\(library.name)"])
        return error
    }

    /// Asks Redis whether this store's Function library is loaded (`FUNCTION LIST LIBRARYNAME`).
    package func ready() async throws(TokenError) {
        let reply = try await send(["FUNCTION", "LIST", "LIBRARYNAME", library.name])
        if let message = reply.errorMessage {
            throw TokenError(.unavailable, "Redis refused FUNCTION LIST: \(message)")
        }
        guard Self.libraryFields(in: reply, named: library.name) != nil else {
            throw TokenError(.unavailable, "the token function library is not loaded")
        }
    }

    /// The fields of the `FUNCTION LIST` entry for exactly `name` (the LIBRARYNAME filter is a
    /// pattern, so it could match a longer name too).
    private static func libraryFields(in reply: RESPValue, named name: String) -> [String: RESPValue]? {
        for entry in reply.array ?? [] {
            guard let flat = entry.array, flat.count % 2 == 0 else { continue }
            var fields: [String: RESPValue] = [:]
            for index in stride(from: 0, to: flat.count, by: 2) {
                if let field = flat[index].string { fields[field] = flat[index + 1] }
            }
            if fields["library_name"]?.string == name { return fields }
        }
        return nil
    }

    /// Commands sent to Redis since start, and how many are waiting for their reply right now
    /// (this store's share of the client's pipeline).
    package var redisStatistics: (roundTrips: Int, inFlight: Int) {
        (sent.load(ordering: .relaxed), waiting.load(ordering: .relaxed))
    }

    package func create(_ token: NewToken) async throws(TokenError) {
        guard (1...1_000_000).contains(token.uses) else { throw TokenError(.err, "uses must be 1-1000000") }
        try Self.validate(method: token.method)
        try Self.validate(label: token.profile, "profile")
        try Self.validate(label: token.issuer, "issuer")
        guard token.issuedAt >= 0, token.expiresAt >= 0 else { throw TokenError(.err, "times must be unix ms") }
        guard Set(token.tags).count == token.tags.count else { throw TokenError(.err, "tags repeat") }
        var keys = [try keyspace.token(token.id), try keyspace.object(bucket: token.bucket, key: token.key)]
        for tag in token.tags { keys.append(try keyspace.tag(tag)) }
        _ = try await call(
            "create", keys: keys,
            arguments: [
                String(token.uses), token.method, token.bucket, token.key, token.profile, String(token.issuedAt),
                String(token.expiresAt), token.issuer, token.tags.joined(separator: ","),
            ])
    }

    package func consume(id: String, method: String?) async throws(TokenError) -> Int {
        let key = try keyspace.token(id)
        if let method { try Self.validate(method: method) }
        return try Self.count(await call("consume", keys: [key], arguments: [method ?? ""], replicated: true))
    }

    package func reserve(id: String, method: String?, leaseMillis: Int64) async throws(TokenError) -> String {
        let key = try keyspace.token(id)
        if let method { try Self.validate(method: method) }
        guard (1...604_800_000).contains(leaseMillis) else { throw TokenError(.err, "lease must be 1-604800000 ms") }
        // Lua has no good randomness, so the lease's unguessable part is made here: 16 base64url
        // characters, 96 bits.
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var generator = SystemRandomNumberGenerator()
        let nonce = String((0..<Self.nonceLength).map { _ in alphabet[Int(generator.next() % 64)] })
        _ = try await call(
            "reserve", keys: [key], arguments: [method ?? "", String(leaseMillis), nonce], replicated: true)
        return id + "." + nonce
    }

    package func commit(lease: String) async throws(TokenError) {
        let (key, nonce) = try leaseParts(lease)
        _ = try await call("commit", keys: [key], arguments: [nonce])
    }

    package func release(lease: String) async throws(TokenError) {
        let (key, nonce) = try leaseParts(lease)
        _ = try await call("release", keys: [key], arguments: [nonce])
    }

    package func check(id: String) async throws(TokenError) -> TokenRecord? {
        let reply = try await call("check", readOnly: true, keys: [try keyspace.token(id)], arguments: [])
        if case .null = reply { return nil }
        return try Self.record(id: id, reply)
    }

    package func revoke(id: String, by: String, reason: String) async throws(TokenError) -> Bool {
        try Self.validate(by: by, reason: reason)
        let reply = try await call(
            "revoke", keys: [try keyspace.token(id), keyspace.events],
            arguments: [id, by, reason, String(eventStreamMaxLength), keyspace.invalidations])
        return try Self.count(reply) == 1
    }

    package func revokeObject(bucket: String, key: String, by: String, reason: String) async throws(TokenError) -> Int {
        try await revokeSet(
            try keyspace.object(bucket: bucket, key: key), kind: "object", name: bucket, key: key, by: by,
            reason: reason)
    }

    package func revokeTag(_ tag: String, by: String, reason: String) async throws(TokenError) -> Int {
        try await revokeSet(try keyspace.tag(tag), kind: "tag", name: tag, key: "", by: by, reason: reason)
    }

    private func revokeSet(
        _ set: String, kind: String, name: String, key: String, by: String, reason: String
    ) async throws(TokenError) -> Int {
        try Self.validate(by: by, reason: reason)
        return try Self.count(
            await call(
                "revoke_set", keys: [set, keyspace.events],
                arguments: [
                    keyspace.prefix, by, reason, String(eventStreamMaxLength), keyspace.invalidations, kind, name, key,
                ]))
    }

    /// One `FCALL` (or `FCALL_RO`). "Function not found" means nothing ran — the server lost or never
    /// had this library version (a new server, `FUNCTION FLUSH`) — so loading it and sending once more
    /// is safe. Any other error reply becomes a `TokenError`. `replicated` calls wait for a replica when
    /// `waitReplicas` is set.
    private func call(
        _ operation: String, readOnly: Bool = false, keys: [String], arguments: [String], replicated: Bool = false
    ) async throws(TokenError) -> RESPValue {
        let command =
            [readOnly ? "FCALL_RO" : "FCALL", library.function(operation), String(keys.count)] + keys + arguments
        let wait = replicated ? waitReplicas : nil
        var reply = try await send(command, waitingFor: wait)
        if case .error(let message) = reply, message.hasPrefix("ERR Function not found") {
            logger.warning("token function library missing, loading it", metadata: ["redis.library": "\(library.name)"])
            try await prepare()
            reply = try await send(command, waitingFor: wait)
        }
        if case .error(let message) = reply { throw TokenError(redisReply: message) }
        return reply
    }

    /// Sends a command; no answer from Redis (of any kind, including an unknown outcome) is
    /// `.unavailable`, never success.
    private func send(_ command: [String]) async throws(TokenError) -> RESPValue {
        sent.wrappingAdd(1, ordering: .relaxed)
        waiting.wrappingAdd(1, ordering: .relaxed)
        defer { waiting.wrappingSubtract(1, ordering: .relaxed) }
        do {
            return try await client.send(command)
        } catch {
            throw TokenError(.unavailable, "Redis did not answer: \(error)", underlying: error)
        }
    }

    /// `send`, then with `wait` a `WAIT 1 <ms>` right behind it on the same connection: a successful
    /// write that no replica confirmed in time is `.unavailable` (it may vanish in a failover).
    private func send(_ command: [String], waitingFor wait: Duration?) async throws(TokenError) -> RESPValue {
        guard let wait else { return try await send(command) }
        let milliseconds = max(1, wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000)
        sent.wrappingAdd(2, ordering: .relaxed)
        waiting.wrappingAdd(1, ordering: .relaxed)
        defer { waiting.wrappingSubtract(1, ordering: .relaxed) }
        let results = await client.send(pipeline: [command, ["WAIT", "1", String(milliseconds)]])
        let reply: RESPValue
        do {
            reply = try results[0].get()
        } catch {
            throw TokenError(.unavailable, "Redis did not answer: \(error)", underlying: error)
        }
        if case .error = reply { return reply }
        switch results[1] {
        case .success(.integer(let replicas)) where replicas >= 1:
            return reply
        case .success(let other):
            let why = other.errorMessage ?? "no replica confirmed the write within \(milliseconds) ms"
            throw TokenError(.unavailable, "the write may not survive a failover: \(why)")
        case .failure(let error):
            throw TokenError(.unavailable, "Redis did not answer WAIT: \(error)", underlying: error)
        }
    }

    private func leaseParts(_ lease: String) throws(TokenError) -> (key: String, nonce: String) {
        let parts = lease.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[1].utf8.count == Self.nonceLength,
            parts[1].utf8.allSatisfy(TokenKeyspace.isBase64URL)
        else { throw TokenError(.err, "lease is malformed") }
        return (try keyspace.token(String(parts[0])), String(parts[1]))
    }

    private static let nonceLength = 16

    private static func validate(method: String) throws(TokenError) {
        guard (1...16).contains(method.utf8.count),
            method.utf8.allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) })
        else { throw TokenError(.err, "method must be 1-16 upper-case letters") }
    }

    private static func validate(label: String, _ name: String) throws(TokenError) {
        guard label.utf8.count <= 128, !label.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
            throw TokenError(.err, "\(name) must be at most 128 bytes without control characters")
        }
    }

    private static func validate(by: String, reason: String) throws(TokenError) {
        guard !by.isEmpty else { throw TokenError(.err, "by must name who revokes") }
        try validate(label: by, "by")
        guard reason.utf8.count <= 1024 else { throw TokenError(.err, "reason must be at most 1024 bytes") }
    }

    private static func count(_ reply: RESPValue) throws(TokenError) -> Int {
        guard case .integer(let value) = reply else { throw unexpected(reply) }
        return Int(value)
    }

    private static func unexpected(_ reply: RESPValue) -> TokenError {
        TokenError(.unavailable, "unexpected reply from the token function library")
    }

    /// Reads the flat `name, value, …` array that the library's check function answers.
    private static func record(id: String, _ reply: RESPValue) throws(TokenError) -> TokenRecord {
        guard case .array(let items) = reply, items.count % 2 == 0 else { throw unexpected(reply) }
        var fields: [String: RESPValue] = [:]
        for index in stride(from: 0, to: items.count, by: 2) {
            guard case .bulkString(let name) = items[index] else { throw unexpected(reply) }
            fields[String(decoding: name, as: UTF8.self)] = items[index + 1]
        }
        func text(_ name: String) throws(TokenError) -> String {
            guard case .bulkString(let bytes) = fields[name] else { throw unexpected(reply) }
            return String(decoding: bytes, as: UTF8.self)
        }
        func number(_ name: String) throws(TokenError) -> Int64 {
            guard case .integer(let value) = fields[name] else { throw unexpected(reply) }
            return value
        }
        guard let state = TokenState(rawValue: try text("state")) else { throw unexpected(reply) }
        let tags = try text("tags")
        return TokenRecord(
            id: id, state: state, usesLeft: Int(try number("uses_left")), usesMax: Int(try number("uses_max")),
            leasesHeld: Int(try number("leases")), method: try text("method"), bucket: try text("bucket"),
            key: try text("key"), profile: try text("profile"), issuedAt: try number("issued_at"),
            expiresAt: try number("expires_at"), issuer: try text("issuer"),
            tags: tags.isEmpty ? [] : tags.split(separator: ",").map(String.init))
    }
}
