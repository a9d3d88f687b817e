import Broker
import SigV4
import Testing
import Tokens

@Suite("Profile: the object a verified URL's decoded path names")
struct ProfileTests {
    static func profile(basePath: String) throws -> Profile {
        let signer = try PresignSigner(
            credentials: Credentials(accessKeyId: "AKIAPROFILETEST00001", secretAccessKey: "profile-test-secret"),
            endpoint: S3Endpoint(
                scheme: .http, host: "127.0.0.1", port: 9000, basePath: basePath, region: "us-east-1",
                addressing: .path))
        return Profile(name: "main", signer: signer, publicBaseURL: nil)
    }

    static func aws() throws -> Profile {
        let signer = try PresignSigner(
            credentials: Credentials(accessKeyId: "AKIAPROFILETEST00002", secretAccessKey: "profile-test-secret"),
            endpoint: .aws(region: "eu-west-1"))
        return Profile(name: "aws", signer: signer, publicBaseURL: nil)
    }

    @Test func virtualHostedURLsAreVerifiedForTheirBucketsHost() throws {
        let profile = try Self.aws()
        let host = "s3.eu-west-1.amazonaws.com"
        let virtual = profile.signedHost(authority: "my-bucket.\(host)")
        #expect(virtual.host == "my-bucket.\(host)" && virtual.virtualBucket == "my-bucket")
        let upper = profile.signedHost(authority: "My-Bucket.S3.EU-WEST-1.amazonaws.com")
        #expect(upper.host == "my-bucket.\(host)" && upper.virtualBucket == "my-bucket")
        // Path style, origin form (no authority), a dotted bucket (never virtual-hosted) and other
        // hosts: the endpoint's host.
        for authority in [
            host, nil, "my.bucket.\(host)", "evil.example.com", "\(host).evil.example.com", ".\(host)",
        ] as [String?] {
            let signed = profile.signedHost(authority: authority)
            #expect(signed.host == host && signed.virtualBucket == nil, "\(authority ?? "origin form")")
        }
        // A path-style profile never reads a bucket from the host.
        let path = try Self.profile(basePath: "").signedHost(authority: "bkt.127.0.0.1:9000")
        #expect(path.host == "127.0.0.1:9000" && path.virtualBucket == nil)
        #expect(
            profile.object(atPath: "/reports/q3.pdf", virtualBucket: "my-bucket")
                == TokenObject(bucket: "my-bucket", key: "reports/q3.pdf"))
        #expect(profile.object(atPath: "/", virtualBucket: "my-bucket") == nil)
    }

    @Test(
        arguments: [
            ("", "/bkt/a/b.txt", TokenObject(bucket: "bkt", key: "a/b.txt")),
            ("", "/bkt/k\nfake=line é", TokenObject(bucket: "bkt", key: "k\nfake=line é")),
            ("", "/bkt//k", TokenObject(bucket: "bkt", key: "/k")),
            ("/minio", "/minio/bkt/k", TokenObject(bucket: "bkt", key: "k")),
        ] as [(String, String, TokenObject)])
    func namesTheObject(_ basePath: String, _ path: String, _ object: TokenObject) throws {
        #expect(try Self.profile(basePath: basePath).object(atPath: path) == object)
    }

    @Test(
        arguments: [
            ("", "/bkt"), ("", "/bkt/"), ("", "//k"), ("", "/"), ("", ""), ("/minio", "/bkt/k"),
            ("/minio", "/miniox/bkt/k"), ("/minio", "/minio"), ("/minio", "/minio/bkt"),
            ("/b%41se", "/bAse/bkt/k"),
        ] as [(String, String)])
    func noObjectWhenThePathIsNotBucketAndKey(_ basePath: String, _ path: String) throws {
        #expect(try Self.profile(basePath: basePath).object(atPath: path) == nil)
    }
}
