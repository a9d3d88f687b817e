import Testing

@testable import Tokens

@Suite("LogRateLimit")
struct LogRateLimitTests {
    @Test("one line per interval; the next line let through reports how many were held back")
    func oncePerInterval() {
        let limit = LogRateLimit(interval: .seconds(10))
        let start = ContinuousClock.now
        #expect(limit.admit(at: start) == 0)
        for second in [0, 1, 5, 9] {
            #expect(limit.admit(at: start + .seconds(second)) == nil)
        }
        #expect(limit.admit(at: start + .milliseconds(9_999)) == nil)
        #expect(limit.admit(at: start + .seconds(10)) == 5)
        #expect(limit.admit(at: start + .seconds(11)) == nil)
        // The interval counts from the last line logged, and nothing held back is reported as 0.
        #expect(limit.admit(at: start + .seconds(20)) == 1)
        #expect(limit.admit(at: start + .seconds(45)) == 0)
    }
}
