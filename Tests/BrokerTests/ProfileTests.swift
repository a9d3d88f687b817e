import Broker
import SigV4
import Testing
import Tokens

@Suite("Profile: the object a verified URL's decoded path names")
struct ProfileTests {
    static func profile(basePath: String) throws -> Profile {
        let signer = try PresignSigner(
            credentials: Credentials(accessKeyId: "AKIAPROFILETEST00001", secretAccessKey: "profile-test-secret"),
            endpoint: S3Endpoint(scheme: .http, host: "127.0.0.1", port: 9000, basePath: basePath, region: "us-east-1",
                addressing: .path))
        return Profile(name: "main", signer: signer, publicBaseURL: nil)
    }

    @Test(arguments: [
        ("", "/bkt/a/b.txt", TokenObject(bucket: "bkt", key: "a/b.txt")),
        ("", "/bkt/k\nfake=line é", TokenObject(bucket: "bkt", key: "k\nfake=line é")),
        ("", "/bkt//k", TokenObject(bucket: "bkt", key: "/k")),
        ("/minio", "/minio/bkt/k", TokenObject(bucket: "bkt", key: "k")),
    ] as [(String, String, TokenObject)])
    func namesTheObject(_ basePath: String, _ path: String, _ object: TokenObject) throws {
        #expect(try Self.profile(basePath: basePath).object(atPath: path) == object)
    }

    @Test(arguments: [
        ("", "/bkt"), ("", "/bkt/"), ("", "//k"), ("", "/"), ("", ""), ("/minio", "/bkt/k"),
        ("/minio", "/miniox/bkt/k"), ("/minio", "/minio"), ("/minio", "/minio/bkt"),
        ("/b%41se", "/bAse/bkt/k"),
    ] as [(String, String)])
    func noObjectWhenThePathIsNotBucketAndKey(_ basePath: String, _ path: String) throws {
        #expect(try Self.profile(basePath: basePath).object(atPath: path) == nil)
    }
}
