import ArgumentParser
import Foundation
import Logging
import Subprocesses

/// `presignd dev`: a daemon to try presignd with, like `vault server -dev`: a private Redis on
/// a Unix socket in a temporary directory (stopped with presignd), built-in credentials and an
/// open listener on 127.0.0.1 that needs no AUTH. Never for production.
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run presignd with a private Redis and an open listener, to try it out.",
        discussion: """
            Starts redis-server (from PATH) on a Unix socket in a temporary directory, and presignd \
            on 127.0.0.1 with no AUTH. URLs are signed for --s3-endpoint with the credentials in \
            AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or with built-in dev credentials. Everything \
            is gone when presignd stops; what a killed dev mode left running is removed by the next \
            one. Not for production: anyone on this machine can use it.
            """)

    @Option(help: "TCP port of the line protocol on 127.0.0.1.")
    var port: Int = 7379

    @Option(
        help: """
            Also serve the HTTP authorize endpoint (what nginx auth_request, Envoy ext_authz and \
            Traefik ForwardAuth call) on this port of 127.0.0.1 (default: off).
            """)
    var httpPort: Int?
    @Option(help: "The S3 endpoint URLs are signed for.")
    var s3Endpoint: String = "http://127.0.0.1:9000"

    @Option(help: "The gateway origin issued URLs point to (default: none, URLs point at S3).")
    var publicBaseURL: String?

    @Option(help: "The S3 region.")
    var region: String = "us-east-1"

    @Option(help: "trace, debug, info, notice, warning (or warn), error or critical.")
    var logLevel: Logger.Level = .info

    static let devAccessKey = "AKIAPRESIGNDDEV00000"
    static let devSecret = "presignd-dev-secret-do-not-use-in-production"

    func validate() throws {
        let ports: [(option: String, value: Int?)] = [("--port", port), ("--http-port", httpPort)]
        for (option, value) in ports {
            guard let value, !(1...65535).contains(value) else { continue }
            throw ValidationError("\(option) must be a TCP port, 1 to 65535 (got \(value))")
        }
        guard httpPort != port else { throw ValidationError("--http-port must differ from --port") }
    }

    func run() async throws {
        let logger = makeLogger(level: logLevel)
        defer { LogLineHandler.flush() }
        let environment = ProcessInfo.processInfo.environment
        Self.removeLeftovers(logger: logger)
        let directory = NSTemporaryDirectory() + Self.directoryPrefix + "\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socket = directory + "/redis.sock"
        let redis = try startRedis(directory: directory, socket: socket)
        defer {
            redis.signal(SIGTERM)
            redis.wait()
        }

        var file = ConfigFile()
        file.listen.tcp = "127.0.0.1:\(port)"
        file.listen.http = httpPort.map { "127.0.0.1:\($0)" } ?? ""
        file.listen.open = true
        file.redis.socket = socket
        let accessKey = environment["AWS_ACCESS_KEY_ID"] ?? Self.devAccessKey
        let secretKey = environment["AWS_SECRET_ACCESS_KEY"] ?? Self.devSecret
        file.profiles = [
            ConfigFile.Profile(
                name: "dev", region: region, endpoint: s3Endpoint, publicBaseURL: publicBaseURL,
                accessKeyId: accessKey, secretAccessKey: secretKey)
        ]
        let settings: DaemonSettings
        do {
            settings = try DaemonSettings.validate(file)
        } catch {
            throw ValidationError("\(error)")
        }
        let port = self.port
        let endpoint = s3Endpoint
        // Lines for the HTTP endpoint, when it is on, each after a newline.
        let httpLine = httpPort.map { "\n  HTTP authorize 127.0.0.1:\($0)/v1/authorize (200 allows, 403 denies)" } ?? ""
        let httpExample =
            httpPort.map {
                """

                  url=$(redis-cli -p \(port) ISSUE GET demo-bucket hello.txt | sed -n 4p)
                  curl -i -H "X-Original-Method: GET" -H "X-Original-URI: /${url#*://*/}" \\
                      http://127.0.0.1:\($0)/v1/authorize   # 200, then 403 USED
                """
            } ?? ""
        var daemon = Daemon(settings: settings, configurationPath: nil, logger: logger)
        daemon.onReady = { _ in
            print(
                """

                presignd dev mode is running. Not for production: no AUTH, dev credentials.
                  line protocol  127.0.0.1:\(port) (open: every client has every role)\(httpLine)
                  Redis          private, \(socket) (removed on exit)
                  S3 profile     dev: signs for \(endpoint), access key \(accessKey)

                Try it (another terminal):
                  redis-cli -p \(port) ISSUE GET demo-bucket hello.txt TTL 300 USES 1
                  id=$(redis-cli -p \(port) ISSUE GET demo-bucket hello.txt | sed -n 2p)
                  redis-cli -p \(port) CONSUME $id     # (integer) 0: allowed, no uses left
                  redis-cli -p \(port) CONSUME $id     # (error) USED: a second use is denied
                  redis-cli -p \(port) CHECK $id\(httpExample)

                Stop with Ctrl-C.
                """)
            fflush(nil)
        }
        try await daemon.run()
    }

    /// A dev-mode directory's name: this prefix and the pid of the presignd that made it.
    static let directoryPrefix = "presignd-dev-"

    /// Stops and removes what a dev-mode presignd that did not stop cleanly (killed, crashed)
    /// left behind: its private redis-server, told to shut down through the socket in its
    /// directory, and the directory. Only directories of this user whose presignd is gone are
    /// touched; a pid that was reused keeps its directory, which is the safe side.
    static func removeLeftovers(logger: Logger) {
        let temporary = NSTemporaryDirectory()
        let names = (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? []
        for name in names where name.hasPrefix(directoryPrefix) {
            guard let pid = Int32(name.dropFirst(directoryPrefix.count)), pid > 0, pid != getpid(), isGone(pid)
            else { continue }
            let directory = temporary + name
            var info = stat()
            guard lstat(directory, &info) == 0, info.st_uid == getuid(), (info.st_mode & S_IFMT) == S_IFDIR else {
                continue
            }
            let socket = directory + "/redis.sock"
            if FileManager.default.fileExists(atPath: socket), let cli = ChildProcess.find("redis-cli") {
                // NOSAVE: dev mode keeps nothing. A Redis already gone makes redis-cli fail: fine.
                _ = try? ChildProcess.run(cli, ["-s", socket, "SHUTDOWN", "NOSAVE"])
            }
            try? FileManager.default.removeItem(atPath: directory)
            logger.info(
                "removed what an earlier dev-mode presignd left running", metadata: ["directory": "\(directory)"])
        }
    }

    /// Whether no process `pid` runs: none has it, or it is a zombie (dead, waiting for its
    /// parent to collect its status: a killed dev mode whose shell has not looked yet).
    static func isGone(_ pid: Int32) -> Bool {
        if kill(pid, 0) == -1 && errno == ESRCH { return true }
        // /proc/<pid>/stat: "<pid> (<name>) <state> …"; the name may hold spaces and parentheses.
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return stat[stat.index(after: close)...].trimmingPrefix(" ").first == "Z"
    }

    private func startRedis(directory: String, socket: String) throws -> ChildProcess {
        guard let executable = ChildProcess.find("redis-server") else {
            throw ValidationError("redis-server is not on PATH: install it (apt-get install -y redis-server)")
        }
        let config = """
            port 0
            unixsocket \(socket)
            unixsocketperm 700
            dir \(directory)
            save ""
            appendonly no
            daemonize no
            logfile \(directory)/redis.log
            """
        try config.write(toFile: directory + "/redis.conf", atomically: true, encoding: .utf8)
        let child = try ChildProcess.spawn(executable, [directory + "/redis.conf"])
        for _ in 0..<250 where !FileManager.default.fileExists(atPath: socket) {
            guard child.isRunning else { throw ValidationError("redis-server exited at start; see \(directory)/redis.log") }
            usleep(20_000)
        }
        return child
    }
}
