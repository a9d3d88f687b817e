import Broker
import NIOHTTP1

/// One HTTP answer before it is written, and how it is counted.
struct HTTPAnswer {
    var status: HTTPResponseStatus
    var headers = HTTPHeaders()
    var body = ""
    /// Metric label: `OK`, a protocol code, or an HTTP status.
    var outcome: String
    /// Whether the answer waited for Redis, so its latency goes into the histogram.
    var timed = false

    init(status: HTTPResponseStatus, outcome: String, body: String = "", timed: Bool = false) {
        self.status = status
        self.outcome = outcome
        self.body = body
        self.timed = timed
    }

    /// Every denial is 403 with the code in `X-Presign-Deny` (nginx `auth_request` passes 403 on
    /// and turns anything but 2xx/401/403 into a 500; Envoy and Traefik hand it to the client).
    /// The message never holds a secret, signature or URL (BrokerError's rule).
    init(denial error: BrokerError) {
        self.init(status: .forbidden, outcome: error.code.rawValue, body: "\(error)\n", timed: true)
        headers.add(name: "x-presign-deny", value: error.code.rawValue)
    }

    init(_ result: Result<AuthorizeResult, any Error>) {
        switch result {
        case .success(.allowed(let id, let usesLeft)):
            self.init(status: .ok, outcome: "OK", timed: true)
            headers.add(name: "x-presign-id", value: id)
            headers.add(name: "x-presign-uses-left", value: String(usesLeft))
        case .success(.reserved(let id, let lease)):
            self.init(status: .ok, outcome: "OK", timed: true)
            headers.add(name: "x-presign-id", value: id)
            headers.add(name: "x-presign-lease", value: lease)
        case .success(.denied(let error)):
            self.init(denial: error)
        case .failure:
            // The task was torn down: the outcome is unknown, so deny.
            self.init(denial: BrokerError(.unavailable, "the request did not complete"))
        }
    }
}
