/// What a verifier needs to know about one access key: its secret and the region its URLs are
/// signed for. `description` never shows the secret.
package struct AccessKeySecret: Sendable, CustomStringConvertible, CustomReflectable {
    package var secretAccessKey: String
    package var region: String

    package init(secretAccessKey: String, region: String) {
        self.secretAccessKey = secretAccessKey
        self.region = region
    }

    package var description: String { "AccessKeySecret(secretAccessKey: <redacted>, region: \(region))" }
    package var customMirror: Mirror { Mirror(self, children: ["region": region], displayStyle: .struct) }
}
