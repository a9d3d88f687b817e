import Redis

/// The Redis Function library holding every rule that reads and changes token state.
///
/// Every state change is one `FCALL` into this library, so it is atomic; the library is saved and
/// replicated with the data (unlike the `EVALSHA` script cache, which a restart or failover
/// empties). The version is part of the library name and of every function name, so a server
/// holding an older library answers "Function not found" instead of running old rules.
///
/// Versions differ in what functions answer and do: v2's consume, reserve, commit and release also
/// return the token's bucket and key (for the audit trail); v3's create also prunes index sets of
/// ids whose token is gone, and its reserve holds at most `maxLeasesHeld` leases per token; v4's
/// functions that make more than one write first check that the Redis user may run each
/// (`redis.acl_check_cmd`), so that an ACL refusal changes nothing (v3's revoke, refused its XADD,
/// had already marked the token revoked and sent no event). v5 is the first to change the data
/// kept: its index sets are sorted sets under new names (`TokenKeyspace`), scored by each token's
/// expiry, from which every create drops a few ids of expired tokens (v4's plain sets could only be
/// pruned by looking the tokens up, which Redis Cluster does not allow, so there they grew with
/// every URL issued); its revoke_set also reads v4's sets, for the URLs v4 daemons issued. So
/// daemons of two versions can serve the same Redis during a rolling upgrade, each through its own
/// library. Any change to the Lua is a new version: a restricted Redis user checks the loaded code
/// against its own, byte for byte.
package struct FunctionLibrary: Sendable {
    /// The library name, e.g. `presignd_v5`; every function is named `<name>_<operation>`.
    package let name: String
    /// The Lua source, loaded with `FUNCTION LOAD REPLACE`.
    package let source: String

    /// The most uses of one token that leases may hold at once; one more RESERVE is answered
    /// RESERVED until a lease ends. Every call on a token reads its lease fields, so their number
    /// must be bounded (tens of thousands made each call slow enough to stall Redis).
    package static let maxLeasesHeld = 1000

    /// The library presignd runs on: time comes from Redis `TIME`.
    package static let standard = FunctionLibrary(name: "presignd_v5", clockKey: nil)

    /// A library for tests whose clock reads the integer (unix ms) stored at `clockKey` when that key
    /// exists, else Redis `TIME`. It lets a test stand exactly on an expiry boundary. Its name differs
    /// from the standard one so both can live on one server; presignd never loads it.
    package static func pinnedClock(key clockKey: String) -> FunctionLibrary {
        FunctionLibrary(name: "presignd_v5_pinned_clock", clockKey: clockKey)
    }

    private init(name: String, clockKey: String?) {
        self.name = name
        self.source = Self.lua(name: name, clockKey: clockKey)
    }

    /// A `RedisConfiguration.onConnect` hook loading this library on every new connection, so each
    /// primary of a cluster has it before serving, new primaries included (functions are per node).
    /// Best effort: a refusal (e.g. `READONLY` from a replica used as a seed) comes back as a reply
    /// and is ignored; a missing library is still loaded on the first "Function not found".
    package var loadOnConnect: @Sendable (RedisConnectionSetup) async throws -> Void {
        let source = self.source
        return { setup in _ = try await setup.send(["FUNCTION", "LOAD", "REPLACE", source]) }
    }

    /// The full name of one of the library's operations.
    func function(_ operation: String) -> String {
        name + "_" + operation
    }

    /// Ids of expired tokens that one create drops from each index set, at most: more than the one
    /// it adds, and little work however many expired at once.
    package static let pruneBatch = 8

    /// How long after its token's expiry an id stays in an index set. On Redis Cluster the set's node
    /// prunes by its own clock, while the token lives by its node's: this much skew cannot hide a live
    /// token from revocation.
    package static let pruneGraceMillis = 60_000

    private static func lua(name: String, clockKey: String?) -> String {
        let maxLeasesHeld = Self.maxLeasesHeld
        let pruneBatch = Self.pruneBatch
        let pruneGraceMillis = Self.pruneGraceMillis
        var pinnedClock = ""
        if let clockKey {
            precondition(clockKey.allSatisfy { $0.isLetter || $0.isNumber || ":_-".contains($0) })
            pinnedClock =
                "local pinned = redis.call('GET', '\(clockKey)')\n"
                + "    if pinned then return tonumber(pinned) end\n    "
        }
        return #"""
            #!lua name=\#(name)

            -- Token state for presignd. Every state change is one call of one function here, so it is atomic.
            -- Scripts have no rollback: each function reads and validates everything before its first write,
            -- its permission to make every write included (may_write).
            -- Hash fields (short names keep a token near 200 bytes): s state (a|s|r), u uses left (not yet
            -- spent; leases are counted separately), n uses max, m method, b bucket, k key, p profile,
            -- i issued at (ms), e expires at (ms), w issuer, g tags (comma-joined), L<nonce> a lease's end (ms).

            -- A denial or a bad argument, raised from anywhere before the first write and turned into a
            -- plain error reply by `guarded` (a raised error would get a script/line suffix).
            local function fail(reply)
                error({denial = reply})
            end

            -- A write the Redis user may not run fails where it stands, after the writes before it. So a
            -- function making more than one write first asks whether the user may run each, with the keys
            -- and channel it will use (redis.acl_check_cmd), and a refusal changes nothing.
            local function may_write(commands)
                for _, command in ipairs(commands) do
                    if not redis.acl_check_cmd(unpack(command)) then
                        fail('NOPERM this Redis user may not run ' .. command[1] .. ', which the function needs')
                    end
                end
            end

            -- An event's two writes, for may_write.
            local function event_writes(stream, channel)
                return {{'XADD', stream, '*', 'event', '{}'}, {'PUBLISH', channel, '{}'}}
            end

            local function guarded(fn)
                return function(keys, args)
                    local ok, result = pcall(fn, keys, args)
                    if ok then return result end
                    if type(result) == 'table' and result.denial then return redis.error_reply(result.denial) end
                    error(result)
                end
            end

            -- Redis's own clock, so gateways on hosts with skewed clocks agree; effects are replicated, so
            -- reading TIME in a writing function is allowed.
            local function now_ms()
                \#(pinnedClock)local t = redis.call('TIME')
                return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            end

            -- An integer argument in [lo, hi]; tonumber alone would accept "1e3", " 7" and "0x10".
            local function int_arg(value, name, lo, hi)
                if type(value) ~= 'string' or not string.match(value, '^%-?%d+$') then
                    fail('ERR ' .. name .. ' is not an integer')
                end
                local n = tonumber(value)
                if n < lo or n > hi then fail('ERR ' .. name .. ' is out of range') end
                return n
            end

            local function text_arg(value, name, allow_empty)
                if type(value) ~= 'string' or (value == '' and not allow_empty) then
                    fail('ERR ' .. name .. ' is missing')
                end
                return value
            end

            local function count_args(keys, args, nkeys, nargs)
                if #keys ~= nkeys or #args ~= nargs then fail('ERR wrong number of keys or arguments') end
            end

            local function load(key)
                local flat = redis.call('HGETALL', key)
                if #flat == 0 then return nil end
                local t = {leases = {}}
                for i = 1, #flat, 2 do
                    local field = flat[i]
                    if string.byte(field, 1) == 76 then -- 'L'
                        t.leases[string.sub(field, 2)] = tonumber(flat[i + 1])
                    else
                        t[field] = flat[i + 1]
                    end
                end
                t.u = tonumber(t.u)
                t.n = tonumber(t.n)
                t.e = tonumber(t.e)
                t.i = tonumber(t.i)
                return t
            end

            -- Leases still running at `now`, and the fields of those that ran out (freed lazily: no timer).
            local function leases(t, now)
                local held, stale = 0, {}
                for nonce, ends in pairs(t.leases) do
                    if now > ends then stale[#stale + 1] = 'L' .. nonce else held = held + 1 end
                end
                return held, stale
            end

            -- A key is visible until `now > expires_at` (Redis expires keys the same way), so the boundary
            -- millisecond still counts as valid.
            local function live(key, now)
                local t = load(key)
                if not t then fail('UNKNOWN token not found') end
                if now > t.e then fail('EXPIRED token expired') end
                return t
            end

            -- What consume and reserve both require: an active token, the right method, a free use.
            local function usable(key, method, now)
                local t = live(key, now)
                if t.s == 'r' then fail('REVOKED token revoked') end
                if t.s == 's' then fail('USED no uses left') end
                if method ~= '' and method ~= t.m then fail('MISMATCH method differs from the issued one') end
                local held, stale = leases(t, now)
                if t.u - held <= 0 then fail('RESERVED the remaining uses are held by leases') end
                return t, t.u - held, stale
            end

            -- A command with many trailing arguments, in slices: Lua's unpack stops at a few thousand values,
            -- and failing after a write would leave half the work done.
            local function call_sliced(command, key, values)
                for first = 1, #values, 1000 do
                    redis.call(command, key, unpack(values, first, math.min(first + 999, #values)))
                end
            end

            -- Spends one use, dropping ran-out lease fields (and `extra`, a lease being committed) on the way.
            local function spend(key, t, stale, extra)
                if extra then stale[#stale + 1] = extra end
                call_sliced('HDEL', key, stale)
                if t.u <= 1 then
                    redis.call('HSET', key, 'u', 0, 's', 's')
                else
                    redis.call('HINCRBY', key, 'u', -1)
                end
            end

            local function json_string(s)
                local escaped = string.gsub(s, '[%c"\\]', function(c)
                    if c == '"' or c == '\\' then return '\\' .. c end
                    return string.format('\\u%04x', string.byte(c))
                end)
                return '"' .. escaped .. '"'
            end

            -- Who revokes, why, and where the events go: ARGV[2..5] of both revoke functions (by, reason,
            -- stream max length, channel) and KEYS[2], the event stream.
            local function revocation(keys, args)
                return {by = text_arg(args[2], 'by'), reason = text_arg(args[3], 'reason', true),
                    maxlen = int_arg(args[4], 'stream length', 1, 1e12), channel = text_arg(args[5], 'channel'),
                    stream = keys[2], now = now_ms()}
            end

            -- The revoked event's payload (PROTOCOL.md field order).
            local function revoked_event(id, t, by, reason, now)
                return '{"event":"revoked","id":' .. json_string(id) .. ',"bucket":' .. json_string(t.b)
                    .. ',"key":' .. json_string(t.k) .. ',"reason":' .. json_string(reason) .. ',"by":'
                    .. json_string(by) .. ',"at":' .. string.format('%.0f', now) .. '}'
            end

            -- One stream entry and one live message carrying the same event.
            local function emit(stream, maxlen, channel, event)
                redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', 'event', event)
                redis.call('PUBLISH', channel, event)
            end

            -- One revocation: the state change, one stream entry and one live message, all in this call.
            local function revoke_one(key, id, t, r)
                redis.call('HSET', key, 's', 'r')
                emit(r.stream, r.maxlen, r.channel, revoked_event(id, t, r.by, r.reason, r.now))
            end

            -- Adds an id to an index set, a sorted set scored by its token's expiry (ms), and drops up to
            -- \#(pruneBatch) ids of tokens that expired over \#(pruneGraceMillis / 1000) s ago: more than the one it adds, so a
            -- set holds little more than the ids of live tokens (or of tokens whose create is still on its
            -- way), without reading a token key (on Redis Cluster they are in other slots), and no call does
            -- more than that however many ids expired at once. The grace keeps the id of a token that still
            -- lives by its own node's clock should the set's node's clock run ahead (Cluster). The set's
            -- TTL covers its last token.
            local function index(set, id, expires, now)
                redis.call('ZADD', set, expires, id)
                local expired = redis.call('ZRANGE', set, '-inf', '(' .. string.format('%.0f', now - \#(pruneGraceMillis)),
                    'BYSCORE', 'LIMIT', 0, \#(pruneBatch))
                if #expired > 0 then redis.call('ZREM', set, unpack(expired)) end
                -- GT alone does nothing on a key without a TTL (it counts as infinite), and a set just
                -- created by ZADD has none: give it one plainly first.
                if redis.call('PEXPIRETIME', set) < 0 then
                    redis.call('PEXPIREAT', set, expires)
                else
                    redis.call('PEXPIREAT', set, expires, 'GT')
                end
            end

            -- What index() runs on a set, for may_write (its reads too: one refused after the ZADD would
            -- leave the call half done).
            local function index_commands(writes, set)
                for _, command in ipairs({{'ZADD', set, '0', '-'}, {'ZRANGE', set, '0', '0'}, {'ZREM', set, '-'},
                        {'PEXPIRETIME', set}, {'PEXPIREAT', set, '0'}}) do
                    writes[#writes + 1] = command
                end
                return writes
            end

            -- KEYS: token, object set, tag sets...  ARGV: uses, method, bucket, key, profile, issued_at,
            -- expires_at, issuer, tags (comma-joined, same order as the tag set keys).
            local function create(keys, args)
                if #args ~= 9 then fail('ERR wrong number of arguments') end
                local uses = int_arg(args[1], 'uses', 1, 1000000)
                local method = text_arg(args[2], 'method')
                local bucket = text_arg(args[3], 'bucket')
                local object = text_arg(args[4], 'key')
                local profile = text_arg(args[5], 'profile', true)
                local issued = int_arg(args[6], 'issued_at', 0, 1e15)
                local expires = int_arg(args[7], 'expires_at', 0, 1e15)
                local issuer = text_arg(args[8], 'issuer', true)
                local tags = text_arg(args[9], 'tags', true)
                local ntags = 0
                if tags ~= '' then ntags = select(2, string.gsub(tags, ',', ',')) + 1 end
                -- One key alone: Redis Cluster, where the index sets live in other slots and the caller
                -- added the id to them (index_add) before this call.
                if #keys ~= 2 + ntags and #keys ~= 1 then fail('ERR wrong number of keys') end
                local now = now_ms()
                if now > expires then fail('EXPIRED expires_at is in the past') end
                if redis.call('EXISTS', keys[1]) == 1 then fail('EXISTS token already exists') end

                local fields = {'s', 'a', 'u', uses, 'n', uses, 'm', method, 'b', bucket, 'k', object,
                    'i', issued, 'e', expires}
                if profile ~= '' then table.insert(fields, 'p') table.insert(fields, profile) end
                if issuer ~= '' then table.insert(fields, 'w') table.insert(fields, issuer) end
                if tags ~= '' then table.insert(fields, 'g') table.insert(fields, tags) end
                local writes = {{'HSET', keys[1], 's', 'a'}, {'PEXPIREAT', keys[1], '0'}}
                for i = 2, #keys do index_commands(writes, keys[i]) end
                may_write(writes)
                redis.call('HSET', keys[1], unpack(fields))
                redis.call('PEXPIREAT', keys[1], expires)
                local id = string.match(keys[1], '{(.*)}$')
                for i = 2, #keys do index(keys[i], id, expires, now) end
                return redis.status_reply('OK')
            end

            -- KEYS: an object or tag set.  ARGV: token id, expires_at.  Redis Cluster only: adds the id
            -- to one index set before the token is created in its own slot. Repeating it changes nothing,
            -- and an id whose token never gets created is harmless (revoke_set skips it).
            local function index_add(keys, args)
                count_args(keys, args, 1, 2)
                local id = text_arg(args[1], 'id')
                local expires = int_arg(args[2], 'expires_at', 0, 1e15)
                -- A past expiry would delete the whole set, other tokens' ids included.
                local now = now_ms()
                if now > expires then fail('EXPIRED expires_at is in the past') end
                may_write(index_commands({}, keys[1]))
                index(keys[1], id, expires, now)
                return redis.status_reply('OK')
            end

            -- KEYS: token.  ARGV: method ('' for any).  Returns the uses still available after this one, and
            -- the token's bucket and key (for the caller's audit line).
            local function consume(keys, args)
                count_args(keys, args, 1, 1)
                local method = text_arg(args[1], 'method', true)
                local t, available, stale = usable(keys[1], method, now_ms())
                spend(keys[1], t, stale)
                return {available - 1, t.b, t.k}
            end

            -- KEYS: token.  ARGV: method ('' for any), lease ms, nonce.  Returns when the lease ends (ms; a
            -- lease never outlives its token), and the token's bucket and key.
            local function reserve(keys, args)
                count_args(keys, args, 1, 3)
                local method = text_arg(args[1], 'method', true)
                local lease_ms = int_arg(args[2], 'lease', 1, 604800000)
                local nonce = text_arg(args[3], 'nonce')
                if not string.match(nonce, '^[%w_-]+$') or #nonce > 64 then fail('ERR nonce is malformed') end
                local now = now_ms()
                local t, free, stale = usable(keys[1], method, now)
                -- Every call on a token reads all its lease fields: their number is bounded.
                if t.u - free >= \#(maxLeasesHeld) then
                    fail('RESERVED \#(maxLeasesHeld) leases are already held on this token')
                end
                if t.leases[nonce] then fail('ERR nonce already used') end
                local ends = math.min(now + lease_ms, t.e)
                call_sliced('HDEL', keys[1], stale)
                redis.call('HSET', keys[1], 'L' .. nonce, ends)
                return {ends, t.b, t.k}
            end

            -- The lease named by `nonce` if it still holds a use at `now`.
            local function held_lease(t, nonce, now)
                local ends = t.leases[nonce]
                if not ends or now > ends then fail('UNKNOWN lease not held (ran out, finished or never issued)') end
            end

            -- KEYS: token.  ARGV: nonce.  Spends the use the lease holds; returns the token's bucket and key.
            local function commit(keys, args)
                count_args(keys, args, 1, 1)
                local nonce = text_arg(args[1], 'nonce')
                local now = now_ms()
                local t = live(keys[1], now)
                if t.s == 'r' then fail('REVOKED token revoked') end
                held_lease(t, nonce, now)
                local _, stale = leases(t, now)
                spend(keys[1], t, stale, 'L' .. nonce)
                return {t.b, t.k}
            end

            -- KEYS: token.  ARGV: nonce.  Gives the held use back; returns the token's bucket and key.
            local function release(keys, args)
                count_args(keys, args, 1, 1)
                local nonce = text_arg(args[1], 'nonce')
                local now = now_ms()
                local t = live(keys[1], now)
                held_lease(t, nonce, now)
                local _, stale = leases(t, now)
                stale[#stale + 1] = 'L' .. nonce
                call_sliced('HDEL', keys[1], stale)
                return {t.b, t.k}
            end

            local STATES = {a = 'active', s = 'spent', r = 'revoked'}

            -- KEYS: token.  Read only: uses_left counts ran-out leases as free without deleting them.
            local function check(keys, args)
                count_args(keys, args, 1, 0)
                local now = now_ms()
                local t = load(keys[1])
                if not t or now > t.e then return false end
                local held = leases(t, now)
                return {'state', STATES[t.s], 'uses_left', t.u - held, 'uses_max', t.n, 'method', t.m,
                    'bucket', t.b, 'key', t.k, 'expires_at', t.e, 'issued_at', t.i, 'issuer', t.w or '',
                    'tags', t.g or '', 'profile', t.p or '', 'leases', held}
            end

            -- KEYS: token, event stream.  ARGV: id, by, reason, stream max length, channel.
            -- Returns 1 if the token was active and is now revoked, else 0 (missing, spent or revoked).
            local function revoke(keys, args)
                count_args(keys, args, 2, 5)
                local id = text_arg(args[1], 'id')
                local r = revocation(keys, args)
                local t = load(keys[1])
                if not t or t.s ~= 'a' or r.now > t.e then return 0 end
                local writes = event_writes(r.stream, r.channel)
                writes[#writes + 1] = {'HSET', keys[1], 's', 'r'}
                may_write(writes)
                revoke_one(keys[1], id, t, r)
                return 1
            end

            -- KEYS: an object or tag set, event stream.  ARGV: token key prefix, by, reason, stream max
            -- length, channel, kind ('object' or 'tag'), bucket or tag, key ('' for a tag), scan cursor,
            -- batch size, form ('sorted' for the index sets of this version, 'plain' for the sets of v4
            -- and before, which may still hold ids of URLs those daemons issued).  Returns {next cursor,
            -- revoked}: the caller repeats from the cursor until it is '0', so a set of any size never
            -- holds Redis for more than one batch.
            -- Revokes every active member that really belongs to the set (its own fields match, so a hash
            -- collision in a set's name cannot revoke a stranger) and drops members that are no longer active.
            -- The token keys are not declared: fine on one Redis; Cluster would refuse them (other slots).
            local function revoke_set(keys, args)
                count_args(keys, args, 2, 11)
                local prefix = text_arg(args[1], 'prefix')
                local r = revocation(keys, args)
                local kind = text_arg(args[6], 'kind')
                local name = text_arg(args[7], 'bucket or tag')
                local object = text_arg(args[8], 'key', kind == 'tag')
                local cursor = text_arg(args[9], 'cursor')
                local batch = int_arg(args[10], 'batch', 1, 10000)
                local form = text_arg(args[11], 'form')
                if kind ~= 'object' and kind ~= 'tag' then fail('ERR kind must be object or tag') end
                local scan_command, remove = 'ZSCAN', 'ZREM'
                if form == 'plain' then
                    scan_command, remove = 'SSCAN', 'SREM'
                elseif form ~= 'sorted' then
                    fail('ERR form must be sorted or plain')
                end
                -- Read every member of the batch first: a failing read after a write would leave half
                -- the batch done.
                local scan = redis.call(scan_command, keys[1], cursor, 'COUNT', batch)
                local ids = scan[2]
                if form == 'sorted' then
                    ids = {}
                    for i = 1, #scan[2], 2 do ids[#ids + 1] = scan[2][i] end  -- member, score, member, ...
                end
                local targets, drop = {}, {}
                for _, id in ipairs(ids) do
                    local key = prefix .. 't:{' .. id .. '}'
                    local t = load(key)
                    local belongs = false
                    if t then
                        if kind == 'object' then
                            belongs = t.b == name and t.k == object
                        else
                            belongs = string.find(',' .. (t.g or '') .. ',', ',' .. name .. ',', 1, true) ~= nil
                        end
                    end
                    if belongs and t.s == 'a' and r.now <= t.e then
                        targets[#targets + 1] = {key = key, id = id, t = t}
                    end
                    if not belongs or t.s ~= 'a' or r.now > t.e then drop[#drop + 1] = id end
                end
                if #drop > 0 or #targets > 0 then
                    local writes = event_writes(r.stream, r.channel)
                    writes[#writes + 1] = {remove, keys[1], '-'}
                    if #targets > 0 then writes[#writes + 1] = {'HSET', targets[1].key, 's', 'r'} end
                    may_write(writes)
                end
                for _, target in ipairs(targets) do
                    revoke_one(target.key, target.id, target.t, r)
                    drop[#drop + 1] = target.id
                end
                call_sliced(remove, keys[1], drop)
                return {scan[1], #targets}
            end

            -- Redis Cluster: a token's key, the index sets and the event stream are in different slots, so a
            -- revocation is this call on the token's slot, then `emit_event` on the stream's slot.
            -- KEYS: token.  ARGV: id, by, reason, and for a set member also kind ('object' or 'tag'),
            -- bucket or tag, key ('' for a tag).  Returns the event payload when the token was active and
            -- is now revoked; else 1 when the set may drop the id (the token exists, belongs and is not
            -- active), 0 when it must keep it (missing: its create may still be on the way).
            local function revoke_state(keys, args)
                if #keys ~= 1 or (#args ~= 3 and #args ~= 6) then fail('ERR wrong number of keys or arguments') end
                local id = text_arg(args[1], 'id')
                local by = text_arg(args[2], 'by')
                local reason = text_arg(args[3], 'reason', true)
                local now = now_ms()
                local t = load(keys[1])
                if not t or now > t.e then return 0 end
                if #args == 6 then
                    local kind = text_arg(args[4], 'kind')
                    local name = text_arg(args[5], 'bucket or tag')
                    local object = text_arg(args[6], 'key', kind == 'tag')
                    local belongs
                    if kind == 'object' then
                        belongs = t.b == name and t.k == object
                    elseif kind == 'tag' then
                        belongs = string.find(',' .. (t.g or '') .. ',', ',' .. name .. ',', 1, true) ~= nil
                    else
                        fail('ERR kind must be object or tag')
                    end
                    if not belongs then return 0 end
                end
                if t.s ~= 'a' then return 1 end
                redis.call('HSET', keys[1], 's', 'r')
                return revoked_event(id, t, by, reason, now)
            end

            -- KEYS: event stream.  ARGV: stream max length, channel, event payload.
            local function emit_event(keys, args)
                count_args(keys, args, 1, 3)
                local maxlen, channel = int_arg(args[1], 'stream length', 1, 1e12), text_arg(args[2], 'channel')
                local event = text_arg(args[3], 'event')
                may_write(event_writes(keys[1], channel))
                emit(keys[1], maxlen, channel, event)
                return redis.status_reply('OK')
            end

            -- Read only, no keys.  ARGV: key prefix, channel.  The commands this library runs that the calling
            -- Redis user may not run on presignd's keys and channel (each name once): empty when every
            -- function can do all it needs. A daemon asks before it reports ready, so that a user whose ACL
            -- lacks a command (say, one a new version needs) stops a rolling upgrade instead of failing calls.
            local function permissions(keys, args)
                count_args(keys, args, 0, 2)
                local prefix = text_arg(args[1], 'prefix')
                local channel = text_arg(args[2], 'channel')
                local token = prefix .. 't:{-}'
                local needed = {{'TIME'}, {'HGETALL', token}, {'EXISTS', token}, {'HSET', token, 'f', 'v'},
                    {'HINCRBY', token, 'f', '1'}, {'HDEL', token, 'f'}, {'PEXPIREAT', token, '0'}}
                for _, kind in ipairs({'o', 'g'}) do
                    local sorted, plain = prefix .. kind .. 'z:{-}', prefix .. kind .. ':{-}'
                    index_commands(needed, sorted)
                    needed[#needed + 1] = {'ZSCAN', sorted, '0'}
                    needed[#needed + 1] = {'SSCAN', plain, '0'}
                    needed[#needed + 1] = {'SREM', plain, '-'}
                end
                for _, command in ipairs(event_writes(prefix .. 'events', channel)) do needed[#needed + 1] = command end
                local missing, named = {}, {}
                for _, command in ipairs(needed) do
                    if not named[command[1]] and not redis.acl_check_cmd(unpack(command)) then
                        missing[#missing + 1] = command[1]
                        named[command[1]] = true
                    end
                end
                return missing
            end

            redis.register_function('\#(name)_create', guarded(create))
            redis.register_function('\#(name)_consume', guarded(consume))
            redis.register_function('\#(name)_reserve', guarded(reserve))
            redis.register_function('\#(name)_commit', guarded(commit))
            redis.register_function('\#(name)_release', guarded(release))
            redis.register_function{function_name = '\#(name)_check', callback = guarded(check), flags = {'no-writes'}}
            redis.register_function('\#(name)_revoke', guarded(revoke))
            redis.register_function('\#(name)_revoke_set', guarded(revoke_set))
            redis.register_function('\#(name)_index_add', guarded(index_add))
            redis.register_function('\#(name)_revoke_state', guarded(revoke_state))
            redis.register_function('\#(name)_emit_event', guarded(emit_event))
            redis.register_function{function_name = '\#(name)_permissions', callback = guarded(permissions),
                flags = {'no-writes'}}
            """#
    }
}
