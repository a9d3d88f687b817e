/// Runs `body` until it returns true or `limit` passes; returns whether it did. For waiting on
/// recovery or delivery without hanging a suite, never for measuring speed.
package func eventually(within limit: Duration, _ body: () async -> Bool) async -> Bool {
    let clock = ContinuousClock()
    let end = clock.now + limit
    while clock.now < end {
        if await body() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return false
}
