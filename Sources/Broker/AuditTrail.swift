import Logging
import Tokens

/// The audit trail: one structured log line per decision that changes or tries to change a
/// URL's state (ISSUE, CONSUME, RESERVE, COMMIT, RELEASE, REVOKE), allowed or denied, from the
/// line protocol and the HTTP authorize endpoint alike. CHECK and other reads are not audited.
///
/// Each line's message is `audit` and its metadata carries `audit=<action>`, `client.id`,
/// `token.id`, `bucket`, `key`, `outcome` (`OK` or the denial code) and `reason` where known —
/// never a URL, signature, lease nonce or secret. A second use of a spent or revoked URL is a
/// warning with `tripwire=reused-url` (often a leaked link); everything else is info, so
/// `--log-level warning` keeps only the tripwires.
package struct AuditTrail: Sendable {
    /// What was asked for; the raw value is the `audit` field.
    package enum Action: String, Sendable {
        case issue, consume, reserve, commit, release, revoke

        /// The action of a protocol command name, nil for commands that are not audited.
        init?(command: String) {
            self.init(rawValue: command.lowercased())
        }
    }

    /// How much of the trail is written.
    package enum Mode: String, Sendable, CaseIterable {
        /// Every line (the default).
        case all
        /// Only the reuse tripwires (warnings): for when the info lines cost too much.
        case tripwires
        /// Nothing.
        case off
    }

    let logger: Logger
    let mode: Mode

    /// One line. `outcome` is `OK` or a denial code; `reason` is the denial's message (or the
    /// REVOKE reason). Values may hold any bytes: escaping them is the log handler's job.
    func record(
        _ action: Action, client: String?, token: String? = nil, bucket: String? = nil, key: String? = nil,
        outcome: String, reason: String? = nil, extra: @autoclosure () -> Logger.Metadata = [:]
    ) {
        let reused = (action == .consume || action == .reserve) && (outcome == "USED" || outcome == "REVOKED")
        let level: Logger.Level = reused ? .warning : .info
        switch mode {
        case .all: break
        case .tripwires where reused: break
        case .tripwires, .off: return
        }
        guard logger.logLevel <= level else { return }
        // `.string(…)` rather than "\(…)": interpolation builds each value through a formatter.
        // Built only now, when the line is written: most CONSUMEs at `--log-level warning` write none.
        var metadata = extra()
        metadata.reserveCapacity(metadata.count + 8)
        metadata["audit"] = .string(action.rawValue)
        metadata["client.id"] = .string(client ?? "-")
        metadata["outcome"] = .string(outcome)
        if let token { metadata["token.id"] = .string(token) }
        if let bucket { metadata["bucket"] = .string(bucket) }
        if let key { metadata["key"] = .string(key) }
        if let reason { metadata["reason"] = .string(reason) }
        if reused { metadata["tripwire"] = "reused-url" }
        logger.log(level: level, "audit", metadata: metadata)
    }

    /// A denial's line, with the token and object asked for where they are known: those given
    /// (the target Redis refused), or those of a genuine URL refused before Redis (EXPIRED,
    /// MISMATCH). A URL whose signature did not verify names none: its contents are anyone's.
    func record(
        _ action: Action, client: String?, token: String? = nil, object: TokenObject? = nil, denied error: BrokerError
    ) {
        let token = token ?? error.subject?.id
        let object = object ?? error.subject?.object
        record(
            action, client: client, token: token, bucket: object?.bucket, key: object?.key,
            outcome: error.code.rawValue, reason: error.message)
    }
}
