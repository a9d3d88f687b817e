import ArgumentParser
import Broker
import Logging
import SigV4

/// `presignd serve --config FILE`: the daemon.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the daemon with a configuration file.",
        discussion: """
            Reads the YAML configuration (see the README for every key), connects to Redis, loads \
            the token Function library and listens. SIGTERM or SIGINT: stop accepting, finish what \
            is in flight (up to 10 s), exit; a second one closes the connections at once. SIGHUP: \
            reload clients, profiles and limits without dropping connections.
            """)

    @Option(name: .long, help: "The configuration file.")
    var config: String = "/etc/presignd/presignd.yaml"

    @Option(name: .long, help: "trace, debug, info, notice, warning (or warn), error or critical.")
    var logLevel: Logger.Level = .info

    @Option(name: .long, help: "text (key=value, escaped) or json (one object per line).")
    var logFormat: LogLineHandler.Format = .text

    @Option(name: .long, help: "all (a line per ISSUE/CONSUME/RESERVE/COMMIT/RELEASE/REVOKE), tripwires (only reuse warnings) or off.")
    var audit: AuditTrail.Mode = .all

    func run() async throws {
        let settings: DaemonSettings
        do {
            settings = try DaemonSettings.load(path: config)
        } catch {
            throw ValidationError("configuration \(config): \(error)")
        }
        let logger = makeLogger(level: logLevel, format: logFormat)
        defer { LogLineHandler.flush() }
        var daemon = Daemon(settings: settings, configurationPath: config, logger: logger)
        daemon.audit = audit
        try await daemon.run()
    }
}

/// `presignd check-config FILE`: validates without starting.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Validate a configuration file without starting.")

    @Argument(help: "The configuration file.")
    var path: String

    func run() throws {
        do {
            let settings = try DaemonSettings.load(path: path)
            print("\(path): ok (\(settings.broker.profiles.count) profiles, \(settings.broker.clients.count) clients)")
            for warning in settings.warnings {
                print("warning: \(warning)")
            }
        } catch {
            printError("\(path): \(error)")
            throw ExitCode(1)
        }
    }
}

/// `presignd hash-secret`: makes a client secret and the hash the configuration stores.
struct HashSecretCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash-secret",
        abstract: "Print a new random client secret and its secret_sha256 for the configuration.",
        discussion: "With --secret-stdin, hash a secret read from standard input instead.")

    @Flag(name: .long, help: "Read the secret from standard input instead of making one.")
    var secretStdin = false

    func run() throws {
        let secret: String
        if secretStdin {
            guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                printError("no secret on standard input")
                throw ExitCode(1)
            }
            secret = line
        } else {
            secret = randomSecret()
            print("secret: \(secret)")
        }
        print("secret_sha256: \(Digest.sha256(Array(secret.utf8)).hex)")
    }
}

func makeLogger(level: Logger.Level, format: LogLineHandler.Format = .text) -> Logger {
    LoggingSystem.bootstrap { label in
        var handler = LogLineHandler(label: label, format: format)
        handler.logLevel = level
        return handler
    }
    return Logger(label: "presignd")
}

/// `--log-level`: a level swift-log knows, in any case, and `warn` for warning (as many daemons
/// spell it). Anything else is a usage error, not a silent `info`.
extension Logger.Level: @retroactive ExpressibleByArgument {
    public init?(argument: String) {
        let name = argument.lowercased()
        self.init(rawValue: name == "warn" ? "warning" : name)
    }
}

extension AuditTrail.Mode: ExpressibleByArgument {}
