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

    /// Creates limits; every value must be at least 1 (configuration loading validates this first).
    package init(maxInlineBytes: Int = 64 * 1024, maxBulkBytes: Int = 64 * 1024, maxArguments: Int = 64) {
        precondition(maxInlineBytes > 0 && maxBulkBytes > 0 && maxArguments > 0, "wire limits must be positive")
        self.maxInlineBytes = maxInlineBytes
        self.maxBulkBytes = maxBulkBytes
        self.maxArguments = maxArguments
    }
}
