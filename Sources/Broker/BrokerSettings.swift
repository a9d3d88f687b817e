import SigV4

/// Everything the broker reads from configuration; replaced whole on reload (SIGHUP).
package struct BrokerSettings: Sendable {
    package var profiles: [String: Profile]
    /// The profile used when neither the command nor the client names one.
    package var defaultProfile: String?
    package var clients: [String: ClientPolicy]
    package var limits: BrokerLimits
    /// Profile by access key id, for verifying URLs.
    let profilesByAccessKey: [String: Profile]
    /// Verifies URLs signed with any profile's credentials.
    let verifier: PresignVerifier

    package init(profiles: [Profile], defaultProfile: String? = nil, clients: [ClientPolicy], limits: BrokerLimits) {
        self.profiles = Dictionary(profiles.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.defaultProfile = defaultProfile ?? profiles.first?.name
        self.clients = Dictionary(clients.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.limits = limits
        let profilesByAccessKey = Dictionary(
            profiles.map { ($0.signer.credentials.accessKeyId, $0) }, uniquingKeysWith: { first, _ in first })
        self.profilesByAccessKey = profilesByAccessKey
        self.verifier = PresignVerifier(
            secrets: profilesByAccessKey.mapValues {
                AccessKeySecret(secretAccessKey: $0.signer.credentials.secretAccessKey, region: $0.signer.endpoint.region)
            })
    }
}
