import Wire

/// `INFO`: `field:value` lines in sections, like Redis.
extension Broker {
    func info(settings: BrokerSettings) -> Reply {
        let uptime = (clock() - startedAt) / 1000
        var lines = [
            "# Server",
            "presignd_version:\(version)",
            "uptime_in_seconds:\(uptime)",
            "",
            "# Configuration",
            "profiles:\(settings.profiles.count)",
            "clients:\(settings.clients.count)",
            "enforcing_profiles:\(settings.profiles.values.filter { $0.publicBaseURL != nil }.count)",
            "",
            "# Invalidations",
            "subscribers:\(invalidations?.subscriberCount ?? 0)",
            "last_event_id:\(invalidations?.lastDelivered?.description ?? "")",
            "",
            "# Commands",
        ]
        lines += counters.snapshot.map { "\($0.0):\($0.1)" }
        return .verbatim(lines.joined(separator: "\r\n") + "\r\n")
    }
}
