import ArgumentParser
import SigV4

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the presign and verify subcommands take from the environment and the clock, the way the
/// AWS CLI does: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION,
/// AWS_DEFAULT_REGION.
enum CommandEnvironment {
    static func variable(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    static func credentials() throws -> Credentials {
        guard let accessKeyId = variable("AWS_ACCESS_KEY_ID"), let secret = variable("AWS_SECRET_ACCESS_KEY") else {
            throw ValidationError("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set")
        }
        return Credentials(
            accessKeyId: accessKeyId, secretAccessKey: secret, sessionToken: variable("AWS_SESSION_TOKEN"))
    }

    /// --region, else AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1.
    static func region(_ option: String?) -> String {
        option ?? variable("AWS_REGION") ?? variable("AWS_DEFAULT_REGION") ?? "us-east-1"
    }

    /// --at (yyyyMMddTHHmmssZ), else the system clock.
    static func time(_ option: String?) throws -> Int64 {
        guard let option else { return systemTime() }
        guard let date = AmzDate(option) else { throw ValidationError("--at must look like 20130524T000000Z") }
        return date.unixSeconds
    }
}

/// The system clock in unix seconds (outside `CommandEnvironment`, whose `time(_:)` would shadow libc's).
private func systemTime() -> Int64 { Int64(time(nil)) }
