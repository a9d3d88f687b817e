import Logging
import NIOCore
import Redis
import Synchronization

/// `TokenStore` on Redis: each state change of a token is one `FCALL` into the `FunctionLibrary`.
///
/// On standalone Redis (or a Sentinel-managed primary) every operation is that one call, revocation
/// events included. On Redis Cluster (the client is a `RedisClusterClient`) a call may only touch
/// keys of one hash slot, and a token, its index sets and the event Stream hash to different ones:
///
/// - create adds the id to each index set first (one call per set), then creates the token. A
///   failure between them leaves an index entry for a token that does not exist, which is harmless;
///   the other order could leave a token that revocation by object or tag never finds.
/// - revoke changes the token's state in its slot, then appends the event to the Stream and
///   publishes it in one call on the Stream's node. Only a token whose state changed gets an event.
/// - revoke by object or tag reads the set in batches (`ZSCAN`), then revokes each batch's members as
///   above, concurrently.
package final class RedisTokenStore: TokenStore {
    /// The key names in use.
    package let keyspace: TokenKeyspace
    /// The Function library this store calls.
    package let library: FunctionLibrary
    private let client: any RedisCommandSender
    /// Set when the client is a Cluster client: the operations that span slots take the Cluster path.
    private let cluster: RedisClusterClient?
    private let eventStreamMaxLength: Int
    private let logger: Logger
    private let sent = Atomic<Int>(0)
    private let waiting = Atomic<Int>(0)
    /// With the library missing and no right to load it, every request fails the same way; these
    /// keep the log to one line per 10 s for each line that says so. Each cause of "not loadable"
    /// has its own limit, so a change of cause (say, another version's code loaded meanwhile) is
    /// logged at once.
    private let missingLibraryLog = LogRateLimit(interval: .seconds(10))
    /// Redis refusing token calls (OOM, READONLY, an ACL without a command): every call meets it.
    private let refusedLog = LogRateLimit(interval: .seconds(10))
    /// The Redis user lacking commands the library needs: every readiness probe finds it again.
    private let permissionsLog = LogRateLimit(interval: .seconds(10))
    private let notLoadableLogs = Dictionary(
        uniqueKeysWithValues: NotLoadable.allCases.map { ($0, LogRateLimit(interval: .seconds(10))) })

    /// Why this store's Redis user cannot run on the library as it is.
    private enum NotLoadable: CaseIterable {
        case notLoaded, otherCode, unlisted
    }

    /// A store over `client` (a `RedisClient`, or a `RedisClusterClient` for Redis Cluster).
    /// `eventStreamMaxLength` bounds the event Stream (`XADD … MAXLEN ~`). Writes are sent as
    /// `replicated`: a client configured to wait for replicas (`replicaAcknowledgements`) confirms
    /// each with `WAIT` before it counts.
    package init(
        client: any RedisCommandSender, keyspace: TokenKeyspace, eventStreamMaxLength: Int = 100_000,
        library: FunctionLibrary = .standard, logger: Logger
    ) {
        precondition(eventStreamMaxLength > 0, "the event stream must keep at least one entry")
        self.client = client
        self.cluster = client as? RedisClusterClient
        self.keyspace = keyspace
        self.eventStreamMaxLength = eventStreamMaxLength
        self.library = library
        self.logger = logger
    }

    /// Loads the Function library with `FUNCTION LOAD REPLACE` (the same source loads idempotently);
    /// on Redis Cluster on every primary, since functions are per node.
    ///
    /// A Redis user restricted to what presignd needs may not run `FUNCTION LOAD` (NOPERM): then
    /// the library must already be loaded, by a deploy user, with exactly this source (`FUNCTION
    /// LIST … WITHCODE`). Anything else fails closed with a message saying how to load it.
    ///
    /// Then checks that the Redis user may run what the library's functions run (`checkPermissions`).
    package func prepare() async throws(TokenError) {
        let refusals = try await sendToEveryNode(["FUNCTION", "LOAD", "REPLACE", library.source]).compactMap(\.errorMessage)
        if refusals.isEmpty {
            logger.info("token function library loaded", metadata: ["redis.library": "\(library.name)"])
            try await checkPermissions(reloading: false)
            return
        }
        if let message = refusals.first(where: { !$0.hasPrefix("NOPERM") }) {
            throw TokenError(.unavailable, "Redis refused the function library: \(message)")
        }
        for source in try await loadedSources() {
            switch source {
            case .some(let source) where source == library.source: continue
            case .some: throw notLoadable(.otherCode, "is loaded with different code (another presignd version?)")
            case .none: throw notLoadable(.notLoaded, "is not loaded")
            }
        }
        logger.info(
            "token function library already loaded by someone else; this Redis user may not load it",
            metadata: ["redis.library": "\(library.name)"])
        try await checkPermissions(reloading: false)
    }

    /// The source of this store's library as each server (each primary of a cluster) holds it, nil
    /// where it is not loaded.
    private func loadedSources() async throws(TokenError) -> [String?] {
        var sources: [String?] = []
        for reply in try await sendToEveryNode(["FUNCTION", "LIST", "LIBRARYNAME", library.name, "WITHCODE"]) {
            if let message = reply.errorMessage {
                throw notLoadable(.unlisted, "cannot be checked (FUNCTION LIST: \(message))")
            }
            sources.append(Self.libraryFields(in: reply, named: library.name)?["library_code"]?.string)
        }
        return sources
    }

    /// The fail-closed error when this Redis user cannot load the library itself; logged at error
    /// level, since nothing works until an operator acts, but at most once per 10 s (every request
    /// meets it again).
    private func notLoadable(_ cause: NotLoadable, _ problem: String) -> TokenError {
        let error = TokenError(
            .unavailable,
            "the Redis user may not run FUNCTION LOAD and the token function library \(library.name) \(problem): "
                + "load it as a user allowed to, e.g. `presignd function-library | redis-cli --user <deploy user> "
                + "--askpass -x FUNCTION LOAD REPLACE`")
        log(.error, "\(error.message)", limitedBy: notLoadableLogs[cause]!)
        return error
    }

    /// Logs `message` with the library's name, unless `limit` holds it back; the line says how many
    /// were held back before it (`log.suppressed`).
    private func log(
        _ level: Logger.Level, _ message: Logger.Message, limitedBy limit: LogRateLimit, extra: Logger.Metadata = [:]
    ) {
        guard let suppressed = limit.admit() else { return }
        var metadata: Logger.Metadata = ["redis.library": "\(library.name)"].merging(extra) { first, _ in first }
        if suppressed > 0 { metadata["log.suppressed"] = "\(suppressed)" }
        logger.log(level: level, message, metadata: metadata)
    }

    /// The error for an error reply to a token call. When it is Redis refusing the call rather
    /// than the library's denial, it is also logged as a warning (at most once per 10 s): every
    /// state change fails closed then, and an operator must hear of it even with the audit trail off.
    private func refusal(_ reply: String) -> TokenError {
        let error = TokenError(redisReply: reply)
        if error.code == .unavailable {
            log(.warning, "redis refused a token call", limitedBy: refusedLog, extra: ["redis.error": "\(reply)"])
        }
        return error
    }

    /// Asks Redis whether this store's Function library is loaded (`FUNCTION LIST LIBRARYNAME`), on
    /// every primary of a cluster.
    ///
    /// A library found missing is loaded, as a token call would load it: a Redis restarted empty
    /// (or `FUNCTION FLUSH`) must not keep every instance unready, hence out of traffic, until a
    /// token request arrives that no balancer will send them.
    ///
    /// Then asks whether the Redis user may run every command the library's functions run
    /// (`checkPermissions`): a user without one would see those calls refused.
    package func ready() async throws(TokenError) {
        do throws(TokenError) {
            for reply in try await sendToEveryNode(["FUNCTION", "LIST", "LIBRARYNAME", library.name]) {
                try checkLoaded(reply)
            }
        } catch let error where error.message == Self.libraryNotLoaded {
            log(.warning, "token function library missing, loading it", limitedBy: missingLibraryLog)
            try await prepare()
            return
        }
        try await checkPermissions(reloading: true)
    }

    /// Throws, naming them, when the Redis user may not run some of the commands the library's
    /// functions run on presignd's keys and channel (the library's `permissions`, on every primary
    /// of a cluster). Without this, a user whose ACL lacks one (say, one a new version needs) would
    /// report ready and fail calls; logged at error level, at most once per 10 s.
    ///
    /// A library of this name without that function is another build's code: when `reloading`, it
    /// is loaded again (`prepare`, which checks once more without reloading), as a token call
    /// would load a missing one.
    private func checkPermissions(reloading: Bool) async throws(TokenError) {
        let command = fcall("permissions", readOnly: true, keys: [], arguments: [keyspace.prefix, keyspace.invalidations])
        var missing: [String] = []
        for reply in try await sendToEveryNode(command) {
            if reloading && Self.isLibraryMissing(reply) {
                log(.warning, "token function library missing, loading it", limitedBy: missingLibraryLog)
                try await prepare()
                return
            }
            if let message = reply.errorMessage { throw refusal(message) }
            guard let names = reply.array?.compactMap(\.string), names.count == reply.array?.count else {
                throw Self.unexpected(reply)
            }
            for name in names where !missing.contains(name) { missing.append(name) }
        }
        guard missing.isEmpty else {
            let error = TokenError(
                .unavailable,
                "the Redis user may not run \(missing.joined(separator: ", ")) on presignd's keys and channel, which "
                    + "the token functions need: grant it the commands, key pattern and channel pattern "
                    + "redis.conf.example gives its presignd user")
            log(.error, "\(error.message)", limitedBy: permissionsLog)
            throw error
        }
    }

    private static let libraryNotLoaded = "the token function library is not loaded"

    private func checkLoaded(_ reply: RESPValue) throws(TokenError) {
        if let message = reply.errorMessage {
            throw TokenError(.unavailable, "Redis refused FUNCTION LIST: \(message)")
        }
        guard Self.libraryFields(in: reply, named: library.name) != nil else {
            throw TokenError(.unavailable, Self.libraryNotLoaded)
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
        let (tokenKey, sets, arguments) = try creation(token)
        var keys = [tokenKey] + sets
        if cluster != nil {
            // Index first, then the token: see the type's comment.
            _ = try await concurrently(sets) { set throws(TokenError) in
                _ = try await self.call("index_add", keys: [set], arguments: [token.id, String(token.expiresAt)])
            }
            keys = [tokenKey]
        }
        _ = try await call("create", keys: keys, arguments: arguments)
    }

    /// `create` for a caller on `eventLoop` (ISSUE), without a task where the client allows
    /// (`onLoop`; a cluster indexes first, in a task).
    package func create(_ token: NewToken, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        let keys: [String]
        let arguments: [String]
        do throws(TokenError) {
            let (tokenKey, sets, createArguments) = try creation(token)
            (keys, arguments) = ([tokenKey] + sets, createArguments)
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        return onLoop(
            "create", keys: keys, arguments: arguments, on: eventLoop, answer: { _ in },
            inTask: { () async throws(TokenError) in try await self.create(token) })
    }

    /// A new token's checks, its key, the sets that index it (its object's, its tags') and the
    /// create Function's arguments.
    private func creation(_ token: NewToken) throws(TokenError) -> (key: String, sets: [String], arguments: [String]) {
        guard (1...1_000_000).contains(token.uses) else { throw TokenError(.err, "uses must be 1-1000000") }
        try Self.validate(method: token.method)
        try Self.validate(label: token.profile, "profile")
        try Self.validate(label: token.issuer, "issuer")
        guard token.issuedAt >= 0, token.expiresAt >= 0 else { throw TokenError(.err, "times must be unix ms") }
        guard Set(token.tags).count == token.tags.count else { throw TokenError(.err, "tags repeat") }
        let tokenKey = try keyspace.token(token.id)
        var sets = [try keyspace.object(bucket: token.bucket, key: token.key)]
        for tag in token.tags { sets.append(try keyspace.tag(tag)) }
        let arguments = [
            String(token.uses), token.method, token.bucket, token.key, token.profile, String(token.issuedAt),
            String(token.expiresAt), token.issuer, token.tags.joined(separator: ","),
        ]
        return (tokenKey, sets, arguments)
    }

    @discardableResult
    package func consume(id: String, method: String?) async throws(TokenError) -> Consumption {
        let key = try keyspace.token(id)
        if let method { try Self.validate(method: method) }
        return try Self.consumption(await call("consume", keys: [key], arguments: [method ?? ""]))
    }

    /// `consume` for a caller on `eventLoop`, without a task where the client allows (`onLoop`).
    package func consume(id: String, method: String?, on eventLoop: any EventLoop) -> EventLoopFuture<Consumption> {
        let key: String
        do throws(TokenError) {
            key = try keyspace.token(id)
            if let method { try Self.validate(method: method) }
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        return onLoop(
            "consume", keys: [key], arguments: [method ?? ""], on: eventLoop, answer: Self.consumption,
            inTask: { () async throws(TokenError) in try await self.consume(id: id, method: method) })
    }

    /// One state change's `FCALL` on `keys` (the token's first), answered on `eventLoop` without a task when
    /// the client can send from the loop (one server, writes not confirmed by replicas): a task per
    /// request cost about a fifth of presignd's CPU per CONSUME (bench/daemon). Otherwise, and when
    /// the library must be loaded first ("Function not found": nothing ran), `inTask` (the async
    /// form of the same operation) runs in a task. An error reply is the denial, as in `call`;
    /// `answer` reads any other reply.
    private func onLoop<Value: Sendable>(
        _ operation: String, keys: [String], arguments: [String], on eventLoop: any EventLoop,
        answer: @escaping @Sendable (RESPValue) throws(TokenError) -> Value,
        inTask: @escaping @Sendable () async throws(TokenError) -> Value
    ) -> EventLoopFuture<Value> {
        let command = fcall(operation, keys: keys, arguments: arguments)
        guard let reply = client.sendOnLoop(command, routingKey: keys.first, replicated: true, on: eventLoop) else {
            return eventLoop.makeFutureWithTask { try await inTask() }
        }
        sent.wrappingAdd(1, ordering: .relaxed)
        waiting.wrappingAdd(1, ordering: .relaxed)
        // One promise completed from one callback: each future in a chain costs an allocation and
        // its release, per request.
        let promise = eventLoop.makePromise(of: Value.self)
        reply.whenComplete { [self] result in
            waiting.wrappingSubtract(1, ordering: .relaxed)
            switch result {
            case .failure(let error):
                promise.fail(TokenError.unanswered(error))
            case .success(let reply) where Self.isLibraryMissing(reply):
                promise.completeWith(eventLoop.makeFutureWithTask { try await inTask() })
            case .success(.error(let message)):
                promise.fail(refusal(message))
            case .success(let reply):
                promise.completeWith(Result { () throws(TokenError) in try answer(reply) })
            }
        }
        return promise.futureResult
    }

    /// What consume answers: the uses left and the token's object.
    private static func consumption(_ reply: RESPValue) throws(TokenError) -> Consumption {
        let (left, object) = try numberAndObject(reply)
        return Consumption(usesLeft: Int(left), object: object)
    }

    package func reserve(id: String, method: String?, leaseMillis: Int64) async throws(TokenError) -> Reservation {
        let (key, arguments, nonce) = try reservation(id: id, method: method, leaseMillis: leaseMillis)
        return try Self.reserved(await call("reserve", keys: [key], arguments: arguments), lease: id + "." + nonce)
    }

    package func reserve(
        id: String, method: String?, leaseMillis: Int64, on eventLoop: any EventLoop
    ) -> EventLoopFuture<Reservation> {
        let key: String
        let arguments: [String]
        let nonce: String
        do throws(TokenError) {
            (key, arguments, nonce) = try reservation(id: id, method: method, leaseMillis: leaseMillis)
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        return onLoop(
            "reserve", keys: [key], arguments: arguments, on: eventLoop,
            answer: { reply throws(TokenError) in try Self.reserved(reply, lease: id + "." + nonce) },
            inTask: { () async throws(TokenError) in try await self.reserve(id: id, method: method, leaseMillis: leaseMillis) })
    }

    /// The token key and reserve arguments (method, lease, nonce) of a reservation, and its nonce.
    private func reservation(
        id: String, method: String?, leaseMillis: Int64
    ) throws(TokenError) -> (key: String, arguments: [String], nonce: String) {
        let key = try keyspace.token(id)
        if let method { try Self.validate(method: method) }
        guard (1...604_800_000).contains(leaseMillis) else { throw TokenError(.err, "lease must be 1-604800000 ms") }
        // Lua has no good randomness, so the lease's unguessable part is made here: 16 base64url
        // characters, 96 bits.
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var generator = SystemRandomNumberGenerator()
        let nonce = String((0..<Self.nonceLength).map { _ in alphabet[Int(generator.next() % 64)] })
        return (key, [method ?? "", String(leaseMillis), nonce], nonce)
    }

    /// What reserve answers: the lease's end and the token's object.
    private static func reserved(_ reply: RESPValue, lease: String) throws(TokenError) -> Reservation {
        return Reservation(lease: lease, object: try numberAndObject(reply).object)
    }

    @discardableResult
    package func commit(lease: String) async throws(TokenError) -> TokenObject {
        let (key, nonce) = try leaseParts(lease)
        return try Self.object(await call("commit", keys: [key], arguments: [nonce]))
    }

    @discardableResult
    package func release(lease: String) async throws(TokenError) -> TokenObject {
        let (key, nonce) = try leaseParts(lease)
        return try Self.object(await call("release", keys: [key], arguments: [nonce]))
    }

    package func settle(lease: String, commit: Bool, on eventLoop: any EventLoop) -> EventLoopFuture<TokenObject> {
        let key: String
        let nonce: String
        do throws(TokenError) {
            (key, nonce) = try leaseParts(lease)
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        return onLoop(
            commit ? "commit" : "release", keys: [key], arguments: [nonce], on: eventLoop,
            answer: { reply throws(TokenError) in try Self.object(reply) },
            inTask: { () async throws(TokenError) in
                commit ? try await self.commit(lease: lease) : try await self.release(lease: lease)
            })
    }

    package func check(id: String) async throws(TokenError) -> TokenRecord? {
        let reply = try await call("check", readOnly: true, keys: [try keyspace.token(id)], arguments: [])
        if case .null = reply { return nil }
        return try Self.record(id: id, reply)
    }

    package func revoke(id: String, by: String, reason: String) async throws(TokenError) -> Bool {
        try Self.validate(by: by, reason: reason)
        if cluster != nil {
            return try await revokeInCluster(id: id, arguments: [id, by, reason]) == .revoked
        }
        let reply = try await call(
            "revoke", keys: [try keyspace.token(id), keyspace.events],
            arguments: [id, by, reason, String(eventStreamMaxLength), keyspace.invalidations])
        return try Self.count(reply) == 1
    }

    package func revokeObject(bucket: String, key: String, by: String, reason: String) async throws(TokenError) -> Int {
        try await revokeIndexed(
            in: [
                (try keyspace.object(bucket: bucket, key: key), .sorted),
                (try keyspace.legacyObject(bucket: bucket, key: key), .plain),
            ], kind: "object", name: bucket, key: key, by: by, reason: reason)
    }

    package func revokeTag(_ tag: String, by: String, reason: String) async throws(TokenError) -> Int {
        try await revokeIndexed(
            in: [(try keyspace.tag(tag), .sorted), (try keyspace.legacyTag(tag), .plain)], kind: "tag", name: tag,
            key: "", by: by, reason: reason)
    }

    /// How an index set is kept: this version's sorted sets, or the plain sets of daemons up to
    /// library v4, which may still hold ids of URLs they issued.
    private enum IndexForm: String {
        case sorted, plain

        /// The command reading the set in batches, and the one dropping members.
        var scan: String { self == .sorted ? "ZSCAN" : "SSCAN" }
        var remove: String { self == .sorted ? "ZREM" : "SREM" }
    }

    /// Revokes the active tokens indexed in `sets`, one set after the other, and returns how many.
    private func revokeIndexed(
        in sets: [(name: String, form: IndexForm)], kind: String, name: String, key: String, by: String,
        reason: String
    ) async throws(TokenError) -> Int {
        try Self.validate(by: by, reason: reason)
        var revoked = 0
        for set in sets {
            if cluster != nil {
                revoked += try await revokeSetInCluster(set.name, form: set.form, arguments: [by, reason, kind, name, key])
                continue
            }
            // Batch by batch (each one call, atomic), so that a set of any size never holds Redis, nor
            // this call, longer than one batch takes.
            var cursor = "0"
            repeat {
                let reply = try await call(
                    "revoke_set", keys: [set.name, keyspace.events],
                    arguments: [
                        keyspace.prefix, by, reason, String(eventStreamMaxLength), keyspace.invalidations, kind, name,
                        key, cursor, String(Self.revokeBatch), set.form.rawValue,
                    ])
                guard let parts = reply.array, parts.count == 2, let next = parts[0].string, let count = parts[1].integer
                else { throw Self.unexpected(reply) }
                revoked += Int(count)
                cursor = next
            } while cursor != "0"
        }
        return revoked
    }

    /// Set members looked at per `revoke_set` call (`ZSCAN … COUNT`): a few milliseconds of Redis time.
    package static let revokeBatch = 500

    /// What `revoke_state` did to one token.
    private enum ClusterRevocation: Sendable {
        /// It was active and is now revoked; its event is out.
        case revoked
        /// It exists, belongs to the set and is not active: its id may leave the set.
        case inactive
        /// Missing, expired, or not the set's: nothing changed and the set keeps the id.
        case untouched
    }

    /// Revokes one token on Redis Cluster: the state change on its slot, then its one event on the
    /// Stream's. `arguments`: id, by, reason, and for a set member kind, name, key.
    private func revokeInCluster(id: String, arguments: [String]) async throws(TokenError) -> ClusterRevocation {
        let reply = try await call("revoke_state", keys: [try keyspace.token(id)], arguments: arguments)
        switch reply {
        case .integer(1): return .inactive
        case .integer(0): return .untouched
        case .bulkString(let payload):
            // If this call gets no answer the token stays revoked without its event: revocation is
            // still enforced everywhere, only the notice to caches is missing (said in the README).
            _ = try await call(
                "emit_event", keys: [keyspace.events],
                arguments: [String(eventStreamMaxLength), keyspace.invalidations, String(decoding: payload, as: UTF8.self)])
            return .revoked
        default: throw Self.unexpected(reply)
        }
    }

    /// Revokes every active member of an index set on Redis Cluster and drops the ids of members that
    /// are no longer active. `arguments`: by, reason, kind, name, key.
    ///
    /// The set is read `revokeBatch` members at a time with `ZSCAN` (`SSCAN` for a plain set of v4),
    /// each batch revoked before the next is read, so a set of any size never holds its node (as
    /// `SMEMBERS` would) nor this call's memory. A scan may return a member twice (the set may be rehashed meanwhile, not least by the
    /// removals here): its second `revoke_state` finds it no longer active and answers "inactive", so it
    /// gets no second event and is not counted again.
    ///
    /// A cursor belongs to one node's hash table. If the set's slot moves to another primary during the
    /// scan, the cursor goes on over the new node's table (the client follows the redirection), where
    /// members sit elsewhere, and some are never returned. So a scan that revoked anything is followed
    /// by another one from cursor 0: it reads only what the first left in the set (ids of tokens that
    /// are missing or not yet created, and anything skipped) and ends the revocation when it revokes
    /// nothing. At most `clusterRevokeScans` scans, so tokens issued to a tag meanwhile cannot keep a
    /// revocation going.
    private func revokeSetInCluster(_ set: String, form: IndexForm, arguments: [String]) async throws(TokenError) -> Int {
        var revoked = 0
        for _ in 0..<Self.clusterRevokeScans {
            let found = try await scanAndRevokeInCluster(set, form: form, arguments: arguments)
            revoked += found
            if found == 0 { break }
        }
        return revoked
    }

    /// Scans per cluster revocation of a set: the first, one for what a slot move made it skip, and
    /// one more should the slot move again.
    static let clusterRevokeScans = 3

    /// One scan of the whole set, revoking its active members batch by batch; returns how many.
    private func scanAndRevokeInCluster(_ set: String, form: IndexForm, arguments: [String]) async throws(TokenError) -> Int {
        var cursor = "0"
        var revoked = 0
        repeat {
            let reply = try await send([form.scan, set, cursor, "COUNT", String(Self.revokeBatch)], routingKey: set)
            guard let parts = reply.array, parts.count == 2, let next = parts[0].string, let members = parts[1].array,
                form == .plain || members.count % 2 == 0
            else { throw Self.unexpected(reply) }
            // A sorted set's scan gives member, score, member, score…
            let names = form == .plain ? members : stride(from: 0, to: members.count, by: 2).map { members[$0] }
            let ids = names.compactMap(\.string)
            guard ids.count == names.count else { throw Self.unexpected(reply) }
            // Ids that are not token ids cannot come from `create`; they are skipped, never revoked.
            let batch = Array(Set(ids.filter(TokenKeyspace.isTokenID)))
            let outcomes = try await concurrently(batch) { id throws(TokenError) in
                (id, try await self.revokeInCluster(id: id, arguments: [id] + arguments))
            }
            let drop = outcomes.filter { $0.1 != .untouched }.map(\.0)
            if !drop.isEmpty {
                let removed = try await send([form.remove, set] + drop, routingKey: set)
                if case .error(let message) = removed { throw refusal(message) }
            }
            revoked += outcomes.filter { $0.1 == .revoked }.count
            cursor = next
        } while cursor != "0"
        return revoked
    }

    /// Runs `body` for every element, at most 256 at once (each is one command in flight); throws
    /// the first error once all started ones have finished.
    private func concurrently<Element: Sendable, Result: Sendable>(
        _ elements: [Element], _ body: @escaping @Sendable (Element) async throws(TokenError) -> Result
    ) async throws(TokenError) -> [Result] {
        let outcomes = await withTaskGroup(of: Swift.Result<Result, TokenError>.self) { group in
            var outcomes: [Swift.Result<Result, TokenError>] = []
            var next = 0
            func startNext() {
                let element = elements[next]
                next += 1
                group.addTask {
                    do throws(TokenError) { return .success(try await body(element)) } catch { return .failure(error) }
                }
            }
            while next < min(elements.count, 256) { startNext() }
            for await outcome in group {
                outcomes.append(outcome)
                if next < elements.count { startNext() }
            }
            return outcomes
        }
        return try outcomes.map { outcome throws(TokenError) in try outcome.get() }
    }

    /// One `FCALL` (or `FCALL_RO`). "Function not found" means nothing ran — the server lost or never
    /// had this library version (a new server, `FUNCTION FLUSH`) — so loading it and sending once more
    /// is safe. Any other error reply becomes a `TokenError`. Every call but a read-only one is sent
    /// as a `replicated` write.
    private func call(
        _ operation: String, readOnly: Bool = false, keys: [String], arguments: [String]
    ) async throws(TokenError) -> RESPValue {
        let command = fcall(operation, readOnly: readOnly, keys: keys, arguments: arguments)
        var reply = try await send(command, routingKey: keys.first, replicated: !readOnly)
        if Self.isLibraryMissing(reply) {
            log(.warning, "token function library missing, loading it", limitedBy: missingLibraryLog)
            try await prepare()
            reply = try await send(command, routingKey: keys.first, replicated: !readOnly)
        }
        if case .error(let message) = reply { throw refusal(message) }
        return reply
    }

    /// `FCALL <library>_<operation> <number of keys> <keys…> <arguments…>` (or `FCALL_RO`).
    private func fcall(_ operation: String, readOnly: Bool = false, keys: [String], arguments: [String]) -> [String] {
        [readOnly ? "FCALL_RO" : "FCALL", library.function(operation), String(keys.count)] + keys + arguments
    }

    /// Whether Redis answered that the library's function does not exist (nothing ran).
    private static func isLibraryMissing(_ reply: RESPValue) -> Bool {
        if case .error(let message) = reply { return message.hasPrefix("ERR Function not found") }
        return false
    }

    /// Sends a command to the node owning `routingKey`; no answer from Redis (of any kind, including
    /// an unknown outcome) is `.unavailable`, never success. A `replicated` write waits for the replica
    /// confirmations the client is configured for.
    private func send(
        _ command: [String], routingKey: String?, replicated: Bool = false
    ) async throws(TokenError) -> RESPValue {
        sent.wrappingAdd(1, ordering: .relaxed)
        waiting.wrappingAdd(1, ordering: .relaxed)
        defer { waiting.wrappingSubtract(1, ordering: .relaxed) }
        do {
            return try await client.send(command, routingKey: routingKey, replicated: replicated)
        } catch {
            throw TokenError.unanswered(error)
        }
    }

    /// Sends a command to the one server, or to every primary of a cluster.
    private func sendToEveryNode(_ command: [String]) async throws(TokenError) -> [RESPValue] {
        guard let cluster else { return [try await send(command, routingKey: nil)] }
        do {
            return try await cluster.sendToEveryPrimary(command)
        } catch {
            throw TokenError.unanswered(error)
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

    /// `[bucket, key]`, as commit and release answer.
    private static func object(_ reply: RESPValue) throws(TokenError) -> TokenObject {
        guard case .array(let items) = reply, items.count == 2 else { throw unexpected(reply) }
        return try object(items[0], items[1], in: reply)
    }

    /// `[number, bucket, key]`, as consume (uses left) and reserve (lease end) answer.
    private static func numberAndObject(_ reply: RESPValue) throws(TokenError) -> (number: Int64, object: TokenObject) {
        guard case .array(let items) = reply, items.count == 3, case .integer(let number) = items[0] else {
            throw unexpected(reply)
        }
        return (number, try object(items[1], items[2], in: reply))
    }

    private static func object(_ bucket: RESPValue, _ key: RESPValue, in reply: RESPValue) throws(TokenError) -> TokenObject {
        guard case .bulkString(let bucket) = bucket, case .bulkString(let key) = key else { throw unexpected(reply) }
        return TokenObject(bucket: String(decoding: bucket, as: UTF8.self), key: String(decoding: key, as: UTF8.self))
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
