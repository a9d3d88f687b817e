/// The size limits the request decoder enforces on every connection.
///
/// Defaults are the ones PROTOCOL.md promises ("Transport and framing"). Each limit has a stable
/// configuration name (``maxInlineBytesName`` and friends) that error messages quote, so an operator
/// reading `-ERR Protocol error: … exceeds max-bulk-bytes (65536)` knows which setting to raise.
package struct WireLimits: Sendable, Hashable {
    /// Longest inline command line, in bytes, not counting its `\n` or `\r\n` terminator.
    package var maxInlineBytes: Int
    /// Longest single bulk string (one argument of a RESP multibulk request), in bytes.
    package var maxBulkBytes: Int
    /// Most arguments (command name included) in one request, RESP or inline.
    package var maxArguments: Int

    /// The configuration name of ``maxInlineBytes``, as quoted in error messages.
    package static let maxInlineBytesName = "max-inline-bytes"
    /// The configuration name of ``maxBulkBytes``, as quoted in error messages.
    package static let maxBulkBytesName = "max-bulk-bytes"
    /// The configuration name of ``maxArguments``, as quoted in error messages.
    package static let maxArgumentsName = "max-arguments"

    /// Whether these are the limits of a connection that has not authenticated (`beforeAuthentication`).
    package private(set) var beforeAuthentication = false

    /// Creates limits; every value must be at least 1 (configuration loading validates this first).
    package init(maxInlineBytes: Int = 64 * 1024, maxBulkBytes: Int = 64 * 1024, maxArguments: Int = 64) {
        precondition(maxInlineBytes > 0 && maxBulkBytes > 0 && maxArguments > 0, "wire limits must be positive")
        self.maxInlineBytes = maxInlineBytes
        self.maxBulkBytes = maxBulkBytes
        self.maxArguments = maxArguments
    }

    /// These limits for a connection that has not authenticated yet: at most 10 arguments of
    /// 16 KiB and inline lines of 16 KiB, as Redis bounds what it buffers for such a client (its
    /// "unauthenticated multibulk length" and "bulk length"). Everything a client sends before
    /// AUTH (HELLO with AUTH and SETNAME, CLIENT SETINFO) fits; a stranger can make presignd hold
    /// about 160 KiB per connection instead of 4 MiB.
    package var beforeAuthenticating: WireLimits {
        var limits = WireLimits(
            maxInlineBytes: min(maxInlineBytes, 16 * 1024), maxBulkBytes: min(maxBulkBytes, 16 * 1024),
            maxArguments: min(maxArguments, 10))
        limits.beforeAuthentication = true
        return limits
    }

    /// A limit's name as an error message quotes it: `max-arguments`, or `max-arguments before AUTH`.
    package func quoted(_ name: String) -> String {
        beforeAuthentication ? "\(name) before AUTH" : name
    }
}
