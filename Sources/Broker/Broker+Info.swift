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
            ("Commands", { [self] in Self.commandStatLines(counters.snapshot) }),
        ]
        var text = ""
        for section in sections where everything || wanted.contains(section.name.lowercased()) {
            if !text.isEmpty { text += "\r\n" }
            text += "# \(section.name)\r\n"
            for line in section.lines() { text += line + "\r\n" }
        }
        return .verbatim(text)
    }

    /// One line per command, shaped as Redis's `cmdstat_` lines so that client libraries parse
    /// them: `cmdstat_consume:calls=4,OK=2,UNKNOWN=2` (the outcomes in name order).
    static func commandStatLines(_ snapshot: [(command: String, outcome: String, count: Int)]) -> [String] {
        // The snapshot is sorted by command, then outcome: each command's counts are a run.
        var lines: [String] = []
        var start = snapshot.startIndex
        while start < snapshot.endIndex {
            let command = snapshot[start].command
            let end = snapshot[start...].firstIndex { $0.command != command } ?? snapshot.endIndex
            let counts = snapshot[start..<end]
            let calls = counts.reduce(0) { $0 + $1.count }
            lines.append(
                "cmdstat_\(command):calls=\(calls)," + counts.map { "\($0.outcome)=\($0.count)" }.joined(separator: ","))
            start = end
        }
        return lines
    }
}
