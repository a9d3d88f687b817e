/// AWS credentials used to sign. `description` and reflection never show the secret or the token.
package struct Credentials: Sendable, Equatable, CustomStringConvertible, CustomReflectable {
    /// The access key id, written into X-Amz-Credential.
    package var accessKeyId: String
    /// The secret; it never leaves this process and is never printed.
    package var secretAccessKey: String
    /// The STS session token of temporary credentials; signed into the query as X-Amz-Security-Token.
    package var sessionToken: String?
    /// When temporary credentials stop working (unix seconds). No URL is signed to outlive them.
    package var expiresAt: Int64?

    package init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil, expiresAt: Int64? = nil) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiresAt = expiresAt
    }

    package var description: String {
        "Credentials(accessKeyId: \(accessKeyId), secretAccessKey: <redacted>, sessionToken: "
            + (sessionToken == nil ? "nil" : "<redacted>") + ", expiresAt: \(expiresAt.map(String.init) ?? "nil"))"
    }

    package var customMirror: Mirror {
        Mirror(self, children: ["accessKeyId": accessKeyId, "expiresAt": expiresAt as Any], displayStyle: .struct)
    }

    /// Checks what the signer relies on: an access key id that fits in the credential scope (no `/`),
    /// printable ASCII, and a non-empty secret.
    func validate() throws(SigV4Error) {
        guard !accessKeyId.isEmpty, accessKeyId.utf8.count <= 128,
            accessKeyId.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") })
        else {
            throw SigV4Error(.invalidCredentials, "access key id must be 1..128 printable ASCII characters without '/'")
        }
        guard !secretAccessKey.isEmpty else {
            throw SigV4Error(.invalidCredentials, "secret access key is empty")
        }
        if let sessionToken, sessionToken.isEmpty {
            throw SigV4Error(.invalidCredentials, "session token is empty; pass nil for long-term credentials")
        }
    }
}
