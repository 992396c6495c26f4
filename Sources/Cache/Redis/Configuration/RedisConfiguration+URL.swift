extension RedisConfiguration {
    /// Reads `redis://[[user]:password@]host[:port][/db]`, the form of `CHATTER_REDIS_URL`.
    ///
    /// `redis://:secret@cache:6380/2` means password `secret`, no user, database 2;
    /// `redis://alice:secret@cache` adds ACL user `alice`. User and password may be
    /// percent-encoded; an IPv6 host goes in brackets. The port defaults to 6379 and the
    /// database to 0; every other setting keeps its default. TLS (`rediss://`), query strings
    /// and anything malformed throw ``RedisError/Code/invalidConfiguration``.
    public init(url: String) throws {
        func invalid(_ detail: String) -> RedisError {
            RedisError(.invalidConfiguration, "\(detail) in Redis URL (expected redis://[[user]:password@]host[:port][/db])")
        }
        guard let schemeEnd = url.firstRange(of: "://") else { throw invalid("no scheme") }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "redis" else {
            throw invalid(scheme == "rediss" ? "TLS (rediss://) is not supported" : "scheme \"\(scheme)\"")
        }
        var rest = url[schemeEnd.upperBound...]
        guard !rest.contains("?"), !rest.contains("#") else { throw invalid("query or fragment") }

        var path = Substring("")
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        self.init()
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            guard let colon = userInfo.firstIndex(of: ":") else { throw invalid("credentials without a colon") }
            guard let user = Self.percentDecoded(userInfo[..<colon]),
                  let password = Self.percentDecoded(userInfo[userInfo.index(after: colon)...]) else {
                throw invalid("bad percent-encoding")
            }
            self.username = user.isEmpty ? nil : user
            self.password = password
        }

        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw invalid("unclosed [") }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("text after ]") }
                portText = after.dropFirst()
            }
        } else if let colon = rest.firstIndex(of: ":") {
            host = String(rest[..<colon])
            portText = rest[rest.index(after: colon)...]
        } else {
            host = String(rest)
        }
        if let portText {
            guard let port = Self.decimal(portText) else { throw invalid("port \"\(portText)\"") }
            self.port = port
        }
        if !path.isEmpty {
            guard let database = Self.decimal(path) else { throw invalid("database \"\(path)\"") }
            self.database = database
        }
        try validate()
    }

    /// A non-empty run of ASCII digits, at most 9 of them.
    private static func decimal(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 9, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(text)
    }

    /// `%XX` escapes decoded as UTF-8; `nil` for a broken escape or invalid UTF-8.
    private static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
