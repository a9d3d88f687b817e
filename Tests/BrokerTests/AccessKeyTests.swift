import Testing

@testable import Broker

@Suite("The access key id a URL names, which picks the profile that verifies it")
struct AccessKeyTests {
    @Test(
        "the first X-Amz-Credential up to its first slash, plain or encoded",
        arguments: [
            ("/b/k?X-Amz-Credential=AKIA1%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=1", "AKIA1"),
            ("/b/k?X-Amz-Credential=AKIA2%2f20260101%2fus-east-1", "AKIA2"),
            ("https://h/b/k?a=1&X-Amz-Credential=AKIA3/20260101/us-east-1/s3/aws4_request", "AKIA3"),
            ("/b/k?&&X-Amz-Credential=AKIA4%2F&X-Amz-Credential=OTHER%2F", "AKIA4"),
            ("/b/k?X-Amz-Credential=%2F20260101", ""),
            ("/b/k?X-Amz-Credential=AKIA5%2", nil),
            ("/b/k?X-Amz-Credential=AKIA6%2G%2F", "AKIA6%2G"),
            ("/b/k?X-Amz-Credential=AKIA7", nil),
            ("/b/k?x-amz-credential=AKIA8%2F", nil),
            ("/b/k?X-Amz-Date=1", nil),
            ("/b/X-Amz-Credential=AKIA9%2F", nil),
            ("", nil),
        ] as [(String, String?)])
    func accessKeyId(url: String, expected: String?) {
        #expect(Broker.accessKeyId(in: url) == expected)
    }
}
