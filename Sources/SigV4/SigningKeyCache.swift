import Synchronization

/// kSigning (SPEC §2.9) per (secret, UTC day, region). It depends on nothing else, and deriving it
/// costs four HMACs, so signers and verifiers keep the few they use. The cached keys are as
/// sensitive as the secret for that day and region; they live only in this process's memory.
final class SigningKeyCache: Sendable {
    private struct Entry {
        let day: Int64
        let region: String
        let secret: String
        let key: SigningKey
    }

    /// A handful of entries covers a signer (today, and yesterday around midnight) and a verifier
    /// with several access keys; the oldest entry goes first when full.
    private let capacity: Int
    private let entries = Mutex<[Entry]>([])

    init(capacity: Int = 32) {
        self.capacity = capacity
    }

    func key(secret: String, date: AmzDate, region: String) -> SigningKey {
        let day = date.day
        let cached = entries.withLock { entries in
            entries.first { $0.day == day && $0.region.hasSameBytes(as: region) && $0.secret.hasSameBytes(as: secret) }?.key
        }
        if let cached { return cached }
        let derived = Self.derive(secret: secret, date: date, region: region)
        let key = SigningKey(digest: derived, mac: HMACKey(derived))
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeFirst() }
            entries.append(Entry(day: day, region: region, secret: secret, key: key))
        }
        return key
    }

    /// kDate = HMAC("AWS4" + secret, yyyyMMdd); kRegion = HMAC(kDate, region);
    /// kService = HMAC(kRegion, "s3"); kSigning = HMAC(kService, "aws4_request").
    static func derive(secret: String, date: AmzDate, region: String) -> Digest {
        let dateText = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 8) { buffer in
            var writer = ByteWriter(buffer)
            date.writeDate(to: &writer)
            return Array(writer.written)
        }
        let seed = Array("AWS4".utf8) + Array(secret.utf8)
        let kDate = seed.withUnsafeBytes { seed in dateText.withUnsafeBytes { Crypto.hmac(key: seed, $0) } }
        let kRegion = HMACKey(kDate).authenticate(region)
        let kService = HMACKey(kRegion).authenticate("s3")
        return HMACKey(kService).authenticate("aws4_request")
    }
}

/// kSigning, and the same key made ready for HMAC.
struct SigningKey: Sendable {
    let digest: Digest
    let mac: HMACKey
}
