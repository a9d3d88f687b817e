extension DaemonSettings {
    /// The configuration keys whose new values a reload does not apply, because the listeners and
    /// the Redis connections they configure are made once, at start (`broker` is what a reload
    /// replaces). Said in the reload's log line, so that an operator who closed `listen.open`, say,
    /// learns it is still open until the restart.
    func keysNeedingRestart(toApply fresh: DaemonSettings) -> [String] {
        var keys: [String] = []
        for (field, old, new) in Self.differingFields(self, fresh) where field != "broker" && field != "warnings" {
            keys += Self.keys(field: field, old: old, new: new)
        }
        // On a cluster, Redis's endpoint is the first seed: a change to it is one to the seeds.
        if redisCluster != nil || fresh.redisCluster != nil, let index = keys.firstIndex(of: Self.key(for: "redis.endpoint")) {
            keys[index] = "redis.cluster"
        }
        return Array(Set(keys)).sorted()
    }

    /// The configuration keys behind one differing settings field, field by field where a
    /// settings value groups several keys (a listener's, the request limits, Redis's).
    private static func keys(field: String, old: Any, new: Any) -> [String] {
        // A cluster's own setting is its seeds (`redis.cluster`); its node settings are `redis.*`,
        // named through the `redis` field.
        if field == "redisCluster", let old = unwrapped(old), let new = unwrapped(new) {
            return differingFields(old, new).contains { $0.field != "node" } ? [key(for: field)] : []
        }
        guard ["server", "http", "wire", "redis"].contains(field.split(separator: ".").last ?? ""),
            let old = unwrapped(old), let new = unwrapped(new)
        else {
            // A plain value, or a listener or cluster added or removed: the whole key.
            return [key(for: field)]
        }
        let prefix = field == "server" ? "" : field + "."
        let inner = differingFields(old, new).flatMap { Self.keys(field: prefix + $0.field, old: $0.old, new: $0.new) }
        return inner.isEmpty ? [key(for: field)] : inner
    }

    /// The configuration key of a settings field.
    private static func key(for field: String) -> String {
        [
            "tcp": "listen.tcp", "unixSocket": "listen.unix", "unixSocketMode": "listen.unix_mode",
            "tcpOpen": "listen.open", "unixOpen": "listen.unix_open", "wire": "limits (request size)",
            "wire.maxInlineBytes": "limits.max_inline_bytes", "wire.maxBulkBytes": "limits.max_bulk_bytes",
            "wire.maxArguments": "limits.max_arguments",
            "redis.endpoint": "redis.address, redis.socket or redis.sentinels", "redis.username": "redis.username",
            "redis.password": "redis.password", "redis.connectTimeout": "redis.connect_timeout_ms",
            "redis.commandTimeout": "redis.command_timeout_ms", "redis.maxInFlight": "redis.max_in_flight",
            "redis.replicaAcknowledgements": "redis.wait_replicas",
            "redis.replicaTimeout": "redis.wait_replicas_timeout_ms",
            "maxPipelined": "limits.max_pipelined", "maxConnections": "limits.max_connections",
            "idleTimeout": "limits.idle_timeout_s", "subscriberMaxEvents": "limits.subscriber_max_events",
            "subscriberMaxBytes": "limits.subscriber_max_bytes", "http": "listen.http",
            "http.host": "listen.http", "http.port": "listen.http", "http.maxConnections": "limits.max_connections",
            "http.idleTimeout": "limits.idle_timeout_s", "http.maxHeaderFieldBytes": "listen.http limits",
            "http.maxHeaderBytes": "listen.http limits", "redis": "redis", "redisCluster": "redis.cluster",
            "keyPrefix": "redis.prefix", "eventsMaxLen": "redis.events_max_len",
        ][field] ?? field
    }

    /// The value inside an optional, nil for `nil`, and any other value as it is.
    private static func unwrapped(_ value: Any) -> Any? {
        let mirror = Mirror(reflecting: value)
        guard mirror.displayStyle == .optional else { return value }
        return mirror.children.first?.value
    }

    /// The stored properties of two values of one type whose descriptions differ (a nil against a
    /// value counts as the whole field).
    private static func differingFields(_ a: Any, _ b: Any) -> [(field: String, old: Any, new: Any)] {
        zip(Mirror(reflecting: a).children, Mirror(reflecting: b).children).compactMap { old, new in
            guard let label = old.label, String(describing: old.value) != String(describing: new.value) else {
                return nil
            }
            return (label, old.value, new.value)
        }
    }
}
