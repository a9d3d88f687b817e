/// A SigV4 timestamp: whole UTC seconds, written `yyyyMMdd'T'HHmmss'Z'` (SPEC §2.1).
///
/// The module never reads the clock: callers pass the time, so tests and the daemon decide it.
package struct AmzDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Seconds since 1970-01-01T00:00:00Z.
    package let unixSeconds: Int64

    /// The range a four-digit year can write: 1970-01-01T00:00:00Z up to 9999-12-31T23:59:59Z.
    static let validRange: ClosedRange<Int64> = 0...253_402_300_799

    package init?(unixSeconds: Int64) {
        guard Self.validRange.contains(unixSeconds) else { return nil }
        self.unixSeconds = unixSeconds
    }

    /// Parses exactly `yyyyMMddTHHmmssZ` with a real calendar date; nil otherwise.
    package init?(_ text: some StringProtocol) {
        guard let date = Array(text.utf8).withUnsafeBufferPointer({ AmzDate(bytes: $0) }) else { return nil }
        self = date
    }

    /// `init?(_:)` of the text's UTF-8 bytes.
    init?(bytes: UnsafeBufferPointer<UInt8>) {
        guard bytes.count == 16, bytes[8] == UInt8(ascii: "T"), bytes[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in bytes[range] {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
            let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15),
            year >= 1970, (1...12).contains(month), day >= 1, day <= Self.daysIn(month: month, year: year),
            hour < 24, minute < 60, second < 60
        else { return nil }
        let days = Self.daysFromCivil(year: year, month: month, day: day)
        self.unixSeconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }

    /// Days since 1970-01-01 (the UTC day the signing key belongs to).
    var day: Int64 { unixSeconds / 86_400 }

    /// The timestamp as written in X-Amz-Date, e.g. `20130524T000000Z`.
    package var description: String {
        String(unsafeUninitializedCapacity: 16) { buffer in
            var writer = ByteWriter(buffer)
            write(to: &writer)
            return writer.count
        }
    }

    package static func < (lhs: AmzDate, rhs: AmzDate) -> Bool { lhs.unixSeconds < rhs.unixSeconds }

    /// The calendar fields, computed once per signature and written several times.
    struct Fields {
        let year: Int
        let month: Int
        let day: Int
        let secondOfDay: Int

        /// Writes the 16 characters of the timestamp.
        func write(to writer: inout ByteWriter) {
            writeDate(to: &writer)
            writer.append(UInt8(ascii: "T"))
            writer.appendPadded(secondOfDay / 3600, width: 2)
            writer.appendPadded(secondOfDay / 60 % 60, width: 2)
            writer.appendPadded(secondOfDay % 60, width: 2)
            writer.append(UInt8(ascii: "Z"))
        }

        /// Writes the 8 characters `yyyyMMdd` of the credential scope.
        func writeDate(to writer: inout ByteWriter) {
            writer.appendPadded(year, width: 4)
            writer.appendPadded(month, width: 2)
            writer.appendPadded(day, width: 2)
        }
    }

    var fields: Fields {
        let (year, month, day) = Self.civil(fromDays: Int(self.day))
        return Fields(year: year, month: month, day: day, secondOfDay: Int(unixSeconds % 86_400))
    }

    func write(to writer: inout ByteWriter) { fields.write(to: &writer) }

    func writeDate(to writer: inout ByteWriter) { fields.writeDate(to: &writer) }

    private static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    // Proleptic Gregorian conversions in the "days from civil" form: years start in March so the
    // leap day is the last day of the year, and 400-year eras repeat exactly (146,097 days).
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = y / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = z / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
