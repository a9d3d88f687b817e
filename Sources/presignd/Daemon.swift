import Broker
import Logging
import NIOCore
import NIOPosix
import Redis
import Server
import Tokens

#if canImport(Glibc)
    import Glibc
#endif

/// Runs presignd: Redis, the token store, the broker and the listeners, until SIGTERM or
/// SIGINT; SIGHUP reloads clients, profiles and limits from the configuration file.
struct Daemon {
    var settings: DaemonSettings
    /// Where SIGHUP re-reads the configuration from; nil when there is no file (dev mode).
    var configurationPath: String?
    var logger: Logger
    /// Called once the listeners are bound, with the TCP port (dev mode prints its examples).
    var onReady: @Sendable (Int?) -> Void = { _ in }
    /// systemd's `Type=notify` readiness protocol; does nothing outside systemd.
    var notifier = SystemdNotifier.fromEnvironment
    /// How much of the audit trail is written.
    var audit: AuditTrail.Mode = .all

    func run() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        var configuration = settings.redis
        if settings.redisCluster != nil { configuration.onConnect = FunctionLibrary.standard.loadOnConnect }
        let redis = makeClient(configuration, group: group)
        let keyspace = try TokenKeyspace(prefix: settings.keyPrefix)
        let store = RedisTokenStore(
            client: redis, keyspace: keyspace, eventStreamMaxLength: settings.eventsMaxLen,
            logger: logger)
        do {
            try await store.prepare()
            logger.info("redis ready", metadata: ["redis.endpoint": "\(redisDescription)"])
        } catch {
            // Fail closed, not dead: every command that needs Redis answers UNAVAILABLE until it
            // is back, and the store loads its Function library again when it is missing.
            logger.error("redis not ready at start", metadata: ["error": "\(error)"])
        }
        logWarnings(of: settings)

        let hub = makeInvalidationHub(keyspace: keyspace, group: group)
        hub.start()
        let broker = Broker(
            settings: settings.broker, store: store, logger: logger, invalidations: hub,
            events: EventStream(client: redis, keyspace: keyspace), audit: audit)
        let server = LineServer(broker: broker, configuration: settings.server, group: group, logger: logger)
        do {
            try await server.start()
        } catch {
            await hub.stop()
            throw error
        }
        let http: HTTPServer?
        do {
            http = try await startHTTP(broker: broker, store: store, lineServer: server, group: group)
        } catch {
            await server.shutdown()
            await hub.stop()
            throw error
        }
        // Taken over before READY: a SIGHUP sent the moment READY arrives (systemctl reload) would
        // otherwise find its default action, which ends the process.
        let signals = SignalStream([SIGTERM, SIGINT, SIGHUP])
        onReady(server.tcpPort)
        logger.info("presignd ready")
        notifier.ready(status: "serving")

        // One iterator for the daemon's life: an AsyncStream ends when its iterator goes away.
        var received = signals.makeAsyncIterator()
        while let signal = await received.next() {
            if signal == SIGHUP {
                notifier.reloading()
                // systemd has no way to hear that a reload failed: the status line says it.
                let applied = reload(into: broker)
                notifier.ready(status: applied ? "serving" : "serving; the last reload was refused (see the log)")
                continue
            }
            logger.info("shutting down", metadata: ["signal": "\(signal)"])
            notifier.stopping()
            break
        }
        // Both listeners drain at once: each lets its requests in flight finish. A second SIGTERM
        // or SIGINT meanwhile closes the connections without waiting any longer.
        let drain = Task { [http] in
            async let lineStopped: Void = server.shutdown()
            async let httpStopped: Void? = http?.shutdown()
            _ = await (lineStopped, httpStopped)
            signals.finish()
        }
        while let signal = await received.next() {
            if signal == SIGHUP {
                logger.info("SIGHUP ignored: presignd is stopping")
                continue
            }
            logger.warning(
                "closing every connection now, without waiting for requests in flight",
                metadata: ["signal": "\(signal)"])
            server.closeConnections()
            http?.closeConnections()
        }
        await drain.value
        await hub.stop()
        await redis.shutdown()
        logger.info("presignd stopped")
    }

    /// The hub following the event Stream, on a Redis client of its own: `XREAD BLOCK` holds its
    /// connection for up to the block time, which would stall every request multiplexed behind it.
    private func makeInvalidationHub(keyspace: TokenKeyspace, group: any EventLoopGroup) -> InvalidationHub {
        let blockMilliseconds = 2000
        var configuration = settings.redis
        configuration.connectionCount = 1
        configuration.clientName = "presignd-events"
        configuration.onConnect = nil
        configuration.maxInFlight = 4
        // Longer than the block, or every quiet period would look like a dead connection.
        configuration.commandTimeout = .milliseconds(blockMilliseconds) + max(settings.redis.commandTimeout, .seconds(1))
        let client = makeClient(configuration, group: group)
        return InvalidationHub(
            stream: EventStream(client: client, keyspace: keyspace), blockMilliseconds: blockMilliseconds, logger: logger)
    }

    /// A client over `configuration`: on a cluster, every node connection uses it, and commands go
    /// to the primary owning their key's slot.
    private func makeClient(_ configuration: RedisConfiguration, group: any EventLoopGroup) -> any RedisCommandSender {
        guard var cluster = settings.redisCluster else {
            return RedisClient(configuration: configuration, eventLoopGroup: group, logger: logger)
        }
        cluster.node = configuration
        return RedisClusterClient(configuration: cluster, eventLoopGroup: group, logger: logger)
    }

    /// Where Redis is, for logs.
    private var redisDescription: String {
        if let cluster = settings.redisCluster { return "cluster \(cluster.seeds.map(\.description))" }
        return "\(settings.redis.endpoint)"
    }

    /// The HTTP authorize endpoint, when `listen.http` is set.
    private func startHTTP(
        broker: Broker, store: RedisTokenStore, lineServer: LineServer, group: any EventLoopGroup
    ) async throws -> HTTPServer? {
        guard let configuration = settings.http else { return nil }
        let endpoint = HTTPServer(
            broker: broker, configuration: configuration, group: group, logger: logger,
            extraMetrics: { text in
                let redis = store.redisStatistics
                text.add(
                    "presignd_redis_round_trips_total", type: "counter", help: "Commands sent to Redis since start.",
                    value: redis.roundTrips)
                text.add(
                    "presignd_redis_in_flight", type: "gauge",
                    help: "Commands sent to Redis and waiting for their reply (pipeline depth).", value: redis.inFlight)
                text.add(
                    "presignd_line_connections", type: "gauge", help: "Open line-protocol connections.",
                    value: lineServer.connectionCount)
                text.add(
                    "presignd_log_lines_dropped_total", type: "counter",
                    help: "Log lines, audit lines included, dropped because standard error did not take them.",
                    value: LogLineHandler.droppedLines)
            })
        try await endpoint.start()
        return endpoint
    }

    private func logWarnings(of settings: DaemonSettings) {
        for warning in settings.warnings {
            logger.warning("configuration warning", metadata: ["warning": "\(warning)"])
        }
    }

    /// Re-reads the configuration file into `broker`; false when the file was refused.
    private func reload(into broker: Broker) -> Bool {
        guard let configurationPath else {
            logger.info("SIGHUP ignored: no configuration file")
            return true
        }
        do {
            let fresh = try DaemonSettings.load(path: configurationPath)
            broker.reload(fresh.broker)
            logWarnings(of: fresh)
            let unapplied = settings.keysNeedingRestart(toApply: fresh)
            if !unapplied.isEmpty {
                logger.warning(
                    "reload: these settings changed but take effect only after a restart; the running values stay",
                    metadata: ["settings": "\(unapplied.joined(separator: ", "))"])
            }
            return true
        } catch {
            logger.error("reload refused: the configuration is invalid; the previous one stays in force", metadata: ["error": "\(error)"])
            return false
        }
    }
}
