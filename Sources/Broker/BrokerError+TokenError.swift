import Tokens

extension BrokerError {
    /// A store error as the client sees it: denial codes pass through unchanged; a token that
    /// already exists is an internal conflict (ERR); Redis trouble is UNAVAILABLE (deny).
    init(tokenError error: TokenError) {
        switch error.code {
        case .exists: self.init(.err, "token already exists")
        default: self.init(Code(rawValue: error.code.rawValue), error.message)
        }
    }
}

extension TokenError {
    /// A store future's failure as a `TokenError`: any other error means the work was torn down
    /// before the store answered, which still denies (UNAVAILABLE).
    init(storeFailure error: any Error) {
        self = error as? TokenError ?? TokenError(.unavailable, "the request did not complete")
    }
}
