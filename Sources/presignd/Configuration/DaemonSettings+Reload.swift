extension DaemonSettings {
    /// The configuration keys whose new values a reload does not apply, because the listeners and
    /// the Redis connections they configure are made once, at start (`broker` is what a reload
    /// replaces). Said in the reload's log line, so that an operator who closed `listen.open`, say,
    /// learns it is still open until the restart.
    func keysNeedingRestart(toApply fresh: DaemonSettings) -> [String] {
        var keys: [String] = []
        for (field, old, new) in Self.differingFields(self, fresh) where field != "broker" && field != "warnings" {
            switch field {
            case "server", "http":
                // Field by field when both are there (a listener added or removed is the whole key).
                guard let old = Self.unwrapped(old), let new = Self.unwrapped(new) else {
                    keys.append(Self.key(for: field))
                    continue
                }
                let prefix = field == "http" ? "http." : ""
                keys += Self.differingFields(old, new).map { Self.key(for: prefix + $0.field) }
            default:
                keys.append(Self.key(for: field))
            }
        }
        return Array(Set(keys)).sorted()
    }

    /// The configuration key of a settings field.
    private static func key(for field: String) -> String {
        [
            "tcp": "listen.tcp", "unixSocket": "listen.unix", "unixSocketMode": "listen.unix_mode",
            "tcpOpen": "listen.open", "unixOpen": "listen.unix_open", "wire": "limits (request size)",
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
