import SigV4

/// One S3 account, region and endpoint that URLs are signed for, and the gateway origin that
/// issued URLs point to.
package struct Profile: Sendable {
    package var name: String
    package var signer: PresignSigner
    /// `scheme://host[:port]` of the gateway in front of S3; nil when URLs point straight at S3,
    /// in which case presignd tracks them but cannot stop a second use.
    package var publicBaseURL: String?

    package init(name: String, signer: PresignSigner, publicBaseURL: String?) {
        self.name = name
        self.signer = signer
        self.publicBaseURL = publicBaseURL
    }

    /// The host value the profile's URLs are signed for (path-style), used when verifying.
    package var signedHost: String { signer.endpoint.hostHeader }

    /// The URL handed to the client: the signed URL with its origin replaced by the gateway's,
    /// path and query unchanged (the gateway forwards them byte for byte).
    func publicURL(for signed: PresignedURL) -> String {
        guard let publicBaseURL else { return signed.url }
        // scheme "://" authority, then the path: skip past the authority's first "/".
        let url = signed.url.utf8
        guard let colon = url.firstIndex(of: UInt8(ascii: ":")) else { return signed.url }
        let authority = url.index(colon, offsetBy: 3)
        let pathStart = url[authority...].firstIndex(of: UInt8(ascii: "/")) ?? url.endIndex
        return publicBaseURL + String(signed.url[pathStart...])
    }
}
