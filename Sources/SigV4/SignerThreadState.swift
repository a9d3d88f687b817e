#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What one thread keeps for one signer: the stamp of the second it last signed in, and the shapes
/// of the requests it signed recently (up to `shapeCapacity`, the oldest replaced).
///
/// Only that thread reads or changes it, so a presign that finds its shape here takes no lock and
/// changes no reference count (the lock and the counts of a shared cache made a shaped PUT about 4%
/// slower in bench/sign, and made threads signing at once contend). The references are counted by
/// hand (`Unmanaged`): the state holds one on each stamp and shape it keeps, given back when that
/// one is replaced and in `deinit`.
final class SignerThreadState {
    // Unchecked: one thread, and no access overlaps another (the checks cost more than the rest).
    @exclusivity(unchecked) private var stamp: Unmanaged<SigningStamp>?
    /// Raw memory rather than an array, which the search would retain and release for its loop.
    private let shapes = UnsafeMutablePointer<Unmanaged<URLShape>>.allocate(capacity: shapeCapacity)
    @exclusivity(unchecked) private(set) var shapeCount = 0
    @exclusivity(unchecked) private var next = 0
    /// Fingerprints of the shapes of the last `missCapacity` requests that found no kept shape.
    private let missed = UnsafeMutablePointer<UInt64>.allocate(capacity: missCapacity)
    @exclusivity(unchecked) private var missedCount = 0
    @exclusivity(unchecked) private var nextMissed = 0

    /// A service presigns a handful of kinds of URL (uploads of one type to one bucket, downloads
    /// with one lifetime) again and again.
    static let shapeCapacity = 8
    static let missCapacity = 8

    deinit {
        stamp?.release()
        for index in 0..<shapeCount { shapes[index].release() }
        shapes.deallocate()
        missed.deallocate()
    }

    /// Whether a request that found no kept shape has a shape missed recently (then it is
    /// forgotten here, as its shape is about to be kept); else it is remembered in place of the
    /// oldest. Shapes are kept from their second sighting on: cutting one costs about half a
    /// presign again, which requests whose shape never comes back (a signed Content-Length that
    /// changes with every upload) should not pay.
    func missedBefore(_ fingerprint: UInt64) -> Bool {
        for index in 0..<missedCount where missed[index] == fingerprint {
            missed[index] = missed[missedCount - 1]
            missedCount -= 1
            return true
        }
        if missedCount < Self.missCapacity {
            missed[missedCount] = fingerprint
            missedCount += 1
        } else {
            missed[nextMissed] = fingerprint
            nextMissed = (nextMissed + 1) % Self.missCapacity
        }
        return false
    }

    /// The stamp of `date`'s second: the one kept, or one `make` makes, kept in its place.
    func stamp(for date: AmzDate, making make: (AmzDate) -> SigningStamp) -> Unmanaged<SigningStamp> {
        if let stamp, stamp._withUnsafeGuaranteedRef({ $0.date == date }) { return stamp }
        let made = Unmanaged.passRetained(make(date))
        stamp?.release()
        stamp = made
        return made
    }

    /// The first kept shape `request` has.
    func shape(matching request: borrowing PresignRequest) -> Unmanaged<URLShape>? {
        for index in 0..<shapeCount where shapes[index]._withUnsafeGuaranteedRef({ $0.matches(request) }) {
            return shapes[index]
        }
        return nil
    }

    /// Keeps `shape`, in place of the one kept longest ago when full.
    func insert(_ shape: URLShape) {
        let kept = Unmanaged.passRetained(shape)
        if shapeCount < Self.shapeCapacity {
            (shapes + shapeCount).initialize(to: kept)
            shapeCount += 1
        } else {
            shapes[next].release()
            shapes[next] = kept
            next = (next + 1) % Self.shapeCapacity
        }
    }
}

/// The current thread's `SignerThreadState`s, one per signer it used recently (up to `capacity`,
/// the one used longest ago dropped), reached through a POSIX thread-specific key and released when
/// the thread exits. A signer that is gone leaves its states in the threads that used it until
/// they are dropped (its stamps hold the day's signing key meanwhile, in this process's memory).
final class ThreadSignerStates {
    @exclusivity(unchecked) private var states: [(signer: UInt64, state: Unmanaged<SignerThreadState>)] = []

    static let capacity = 16

    deinit {
        for entry in states { entry.state.release() }
    }

    /// The state for the signer named `signer`, made when missing; the most recently used first.
    func state(for signer: UInt64) -> Unmanaged<SignerThreadState> {
        if let first = states.first, first.signer == signer { return first.state }
        if let index = states.firstIndex(where: { $0.signer == signer }) {
            let entry = states.remove(at: index)
            states.insert(entry, at: 0)
            return entry.state
        }
        if states.count == Self.capacity { states.removeLast().state.release() }
        let state = Unmanaged.passRetained(SignerThreadState())
        states.insert((signer, state), at: 0)
        return state
    }

    /// The calling thread's states, made on its first presign.
    static func current() -> Unmanaged<ThreadSignerStates> {
        if let pointer = pthread_getspecific(key) { return Unmanaged.fromOpaque(pointer) }
        let states = Unmanaged.passRetained(ThreadSignerStates())
        let status = pthread_setspecific(key, states.toOpaque())
        precondition(status == 0, "pthread_setspecific failed: \(status)")
        return states
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key) { pointer in
            guard let pointer else { return }
            Unmanaged<ThreadSignerStates>.fromOpaque(pointer).release()
        }
        precondition(status == 0, "pthread_key_create failed: \(status)")
        return key
    }()
}
