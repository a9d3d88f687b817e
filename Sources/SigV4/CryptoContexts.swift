internal import COpenSSL

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The OpenSSL algorithm objects this module uses, fetched once per process.
///
/// OpenSSL 3's convenience calls (`HMAC()`, `EVP_sha256()`) look the algorithm up in the provider
/// store on every call, under a lock; measured here, `HMAC()` costs 3.6 µs against 0.7 µs for a
/// kept, keyed context (notes/redis.md §1.6). So we fetch `EVP_MAC "HMAC"` and `EVP_MD "SHA256"`
/// once and keep them for the life of the process.
final class CryptoAlgorithms: @unchecked Sendable {
    // Safe to share: both pointers are written once in `init` and never again, and OpenSSL documents
    // fetched `EVP_MAC`/`EVP_MD` objects as immutable, reference-counted and usable from any thread
    // (crypto(7), "Fetching algorithms"). They are never freed: the process keeps them until exit.
    let mac: OpaquePointer
    let sha256: OpaquePointer

    static let shared = CryptoAlgorithms()

    private init() {
        guard let mac = EVP_MAC_fetch(nil, "HMAC", nil), let md = EVP_MD_fetch(nil, "SHA256", nil) else {
            // Without HMAC-SHA256 nothing in this module can work; libcrypto is broken or its
            // default provider is missing. There is no useful way to continue.
            fatalError("libcrypto has no HMAC or SHA256 in its default provider")
        }
        self.mac = mac
        self.sha256 = md
    }
}

/// One thread's OpenSSL contexts: a keyed HMAC context and a SHA-256 digest context.
///
/// `EVP_MAC_CTX` and `EVP_MD_CTX` are not thread-safe, and this module does not import NIO (no
/// event-loop confinement to lean on), so each thread gets its own pair through a pthread key.
/// The HMAC context remembers its key: when the next call uses the same key (the usual case, the
/// day's kSigning), it is re-initialised with `EVP_MAC_init(ctx, NULL, 0, NULL)`, which resets
/// the inner/outer state without re-deriving the padded key.
final class CryptoContexts {
    /// Keys up to this many bytes are remembered; longer ones (never used by SigV4, whose HMAC keys
    /// are "AWS4" + secret and 32-byte digests) are set on every call.
    private static let rememberedKeyCapacity = 128

    let mac: OpaquePointer
    let md: OpaquePointer
    private let lastKey: UnsafeMutablePointer<UInt8>
    private var lastKeyCount = -1

    private init() {
        let algorithms = CryptoAlgorithms.shared
        guard let mac = EVP_MAC_CTX_new(algorithms.mac), let md = EVP_MD_CTX_new() else {
            fatalError("libcrypto could not allocate a context")
        }
        // The digest parameter is set once; later EVP_MAC_init calls keep it. The OSSL_PARAM holds
        // a pointer to the C string, so it must be used inside withCString (the dangling-pointer
        // pitfall of notes/redis.md §1.6).
        let ok = "SHA256".withCString { name -> Bool in
            var params = [
                OSSL_PARAM_construct_utf8_string("digest", UnsafeMutablePointer(mutating: name), 0),
                OSSL_PARAM_construct_end(),
            ]
            return EVP_MAC_CTX_set_params(mac, &params) == 1
        }
        guard ok else { fatalError("libcrypto refused HMAC digest SHA256") }
        self.mac = mac
        self.md = md
        self.lastKey = .allocate(capacity: Self.rememberedKeyCapacity)
    }

    deinit {
        EVP_MAC_CTX_free(mac)
        EVP_MD_CTX_free(md)
        lastKey.deallocate()
    }

    /// Prepares the HMAC context for a new message under `key`, re-keying only when the key changed.
    func initMAC(key: UnsafeRawBufferPointer) {
        let count = key.count
        if count == lastKeyCount, count > 0, memcmp(lastKey, key.baseAddress!, count) == 0 {
            guard EVP_MAC_init(mac, nil, 0, nil) == 1 else { fatalError("EVP_MAC_init failed") }
            return
        }
        let base = key.baseAddress?.assumingMemoryBound(to: UInt8.self)
        guard EVP_MAC_init(mac, base, count, nil) == 1 else { fatalError("EVP_MAC_init failed") }
        if count <= Self.rememberedKeyCapacity, let base {
            lastKey.update(from: base, count: count)
            lastKeyCount = count
        } else {
            lastKeyCount = -1
        }
    }

    /// The calling thread's contexts, created on first use and freed when the thread exits.
    static var current: CryptoContexts {
        if let raw = pthread_getspecific(threadKey.key) {
            return Unmanaged<CryptoContexts>.fromOpaque(raw).takeUnretainedValue()
        }
        let contexts = CryptoContexts()
        pthread_setspecific(threadKey.key, Unmanaged.passRetained(contexts).toOpaque())
        return contexts
    }

    private static let threadKey = ThreadKey()
}

/// The pthread key under which each thread keeps its `CryptoContexts`; its destructor releases them
/// when the thread exits.
private struct ThreadKey: Sendable {
    let key: pthread_key_t

    init() {
        var key = pthread_key_t()
        let status = pthread_key_create(&key) { raw in
            guard let raw else { return }
            Unmanaged<CryptoContexts>.fromOpaque(raw).release()
        }
        precondition(status == 0, "pthread_key_create failed")
        self.key = key
    }
}
