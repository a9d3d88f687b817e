import Wire

/// `INFO [section ...]`: `field:value` lines in sections, like Redis. With no section, or `all`,
/// `everything` or `default`, every section; a section presignd does not have adds nothing.
extension Broker {
    func info(_ arguments: inout CommandArguments, settings: BrokerSettings) throws(BrokerError) -> Reply {
        var wanted: Set<String> = []
        while !arguments.isAtEnd { wanted.insert(try arguments.string("section").lowercased()) }
        let everything = wanted.isEmpty || !wanted.isDisjoint(with: ["all", "everything", "default"])
        let sections: [(name: String, lines: () -> [String])] = [
            (
                "Server",
                { [self] in ["presignd_version:\(version)", "uptime_in_seconds:\((clock() - startedAt) / 1000)"] }
            ),
            ("Clients", { [self] in ["connected_clients:\(lineConnections.current)"] }),
            (
                "Configuration",
                {
                    [
                        "profiles:\(settings.profiles.count)",
                        "clients:\(settings.clients.count)",
                        "enforcing_profiles:\(settings.profiles.values.filter { $0.publicBaseURL != nil }.count)",
                    ]
                }
            ),
            (
                "Invalidations",
                { [self] in
                    [
                        "subscribers:\(invalidations?.subscriberCount ?? 0)",
                        "last_event_id:\(invalidations?.lastDelivered?.description ?? "")",
                    ]
                }
            ),
            ("Commands", { [self] in counters.snapshot.map { "\($0.0):\($0.1)" } }),
        ]
        var text = ""
        for section in sections where everything || wanted.contains(section.name.lowercased()) {
            if !text.isEmpty { text += "\r\n" }
            text += "# \(section.name)\r\n"
            for line in section.lines() { text += line + "\r\n" }
        }
        return .verbatim(text)
    }
}
