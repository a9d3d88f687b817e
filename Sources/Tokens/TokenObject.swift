/// The S3 object a token was issued for, as its record holds it.
package struct TokenObject: Sendable, Hashable {
    package let bucket: String
    package let key: String

    package init(bucket: String, key: String) {
        self.bucket = bucket
        self.key = key
    }
}

/// What a consume did: the uses still available after it, and the token's object.
package struct Consumption: Sendable, Hashable {
    package let usesLeft: Int
    package let object: TokenObject
}

/// A use held by a lease: the handle that commits or releases it, and the token's object.
package struct Reservation: Sendable, Hashable {
    /// `<token id>.<nonce>`; the nonce is the secret part (never log it).
    package let lease: String
    package let object: TokenObject
}
