/// The HTTP methods a presigned S3 URL can be made for. The method is signed: a URL for GET does
/// not work as HEAD, and the reverse (SPEC §4).
package enum S3Method: String, Sendable, CaseIterable {
    case get = "GET"
    case put = "PUT"
    case head = "HEAD"
    case delete = "DELETE"

    /// The first line of a canonical request for this method (SPEC §2.7): the name and a newline.
    var canonicalLine: StaticString {
        switch self {
        case .get: "GET\n"
        case .put: "PUT\n"
        case .head: "HEAD\n"
        case .delete: "DELETE\n"
        }
    }

    /// Parses the method name exactly (HTTP method names are case-sensitive).
    package init(validating name: String) throws(SigV4Error) {
        guard let method = S3Method(rawValue: name) else {
            throw SigV4Error(.invalidMethod, "method must be one of GET, PUT, HEAD, DELETE")
        }
        self = method
    }
}
