import Testing
import TestSupport

@Suite struct RedisServerFixtureTests {
    @Test("the fixture starts a private redis-server that answers, and restarts it on the same port")
    func startsAndRestarts() throws {
        let server = try RedisServer.start(unixSocket: true)
        #expect(try server.cli("PING") == "PONG")
        #expect(try server.cli("SET", "k", "v") == "OK")
        try server.restart()
        #expect(try server.cli("PING") == "PONG")
        server.stop()
        #expect(server.pid == nil)
    }
}
