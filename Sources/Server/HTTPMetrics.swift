import Broker
import Synchronization

/// What the HTTP endpoint counts: requests by endpoint and outcome, latency histograms,
/// connections. Bounded: endpoints and outcomes come from fixed sets (routes and protocol codes).
final class HTTPMetrics: Sendable {
    /// Upper bounds of the latency buckets, seconds: an authorize is one Redis round trip, so the
    /// interesting range is sub-millisecond to a Redis timeout.
    static let buckets: [Double] = [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]

    private struct Histogram {
        var counts = [Int](repeating: 0, count: HTTPMetrics.buckets.count)
        var sum = 0.0
        var count = 0
    }

    private struct State {
        var requests: [String: [String: Int]] = [:]
        var latency: [String: Histogram] = [:]
        var accepted = 0
    }

    private let state = Mutex(State())
    let connections = ConnectionCounter()

    func connectionAccepted() {
        state.withLock { $0.accepted += 1 }
    }

    /// Counts one answered request and, for the Redis-backed endpoints, its latency.
    func record(endpoint: String, outcome: String, seconds: Double?) {
        state.withLock { state in
            state.requests[endpoint, default: [:]][outcome, default: 0] += 1
            guard let seconds else { return }
            var histogram = state.latency[endpoint] ?? Histogram()
            if let index = Self.buckets.firstIndex(where: { seconds <= $0 }) {
                histogram.counts[index] += 1
            }
            histogram.sum += seconds
            histogram.count += 1
            state.latency[endpoint] = histogram
        }
    }

    /// Appends this endpoint's metrics.
    func write(into text: inout PrometheusText) {
        let snapshot = state.withLock { $0 }
        for (endpoint, outcomes) in snapshot.requests.sorted(by: { $0.key < $1.key }) {
            for (outcome, count) in outcomes.sorted(by: { $0.key < $1.key }) {
                text.add(
                    "presignd_http_requests_total", type: "counter", help: "HTTP requests answered, by endpoint and outcome.",
                    labels: [("endpoint", endpoint), ("outcome", outcome)], value: count)
            }
        }
        let name = "presignd_http_request_duration_seconds"
        let help = "Time from a request's end to its answer, for endpoints that ask Redis."
        for (endpoint, histogram) in snapshot.latency.sorted(by: { $0.key < $1.key }) {
            var cumulative = 0
            for (bound, count) in zip(Self.buckets, histogram.counts) {
                cumulative += count
                text.add(
                    name, type: "histogram", help: help, suffix: "_bucket",
                    labels: [("endpoint", endpoint), ("le", PrometheusText.format(bound))], value: cumulative)
            }
            text.add(
                name, type: "histogram", help: help, suffix: "_bucket", labels: [("endpoint", endpoint), ("le", "+Inf")],
                value: histogram.count)
            text.add(name, type: "histogram", help: help, suffix: "_sum", labels: [("endpoint", endpoint)], value: histogram.sum)
            text.add(name, type: "histogram", help: help, suffix: "_count", labels: [("endpoint", endpoint)], value: histogram.count)
        }
        text.add(
            "presignd_http_connections", type: "gauge", help: "Open HTTP connections.", value: connections.current)
        text.add(
            "presignd_http_connections_accepted_total", type: "counter", help: "HTTP connections accepted since start.",
            value: snapshot.accepted)
    }
}
