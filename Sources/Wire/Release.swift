/// The presignd release: what `presignd --version`, `presignctl --version`, `HELLO` and `INFO`
/// report.
package enum Release {
    package static let version = "0.1.0"
}
