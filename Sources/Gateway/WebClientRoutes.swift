import ChatterCore
import ChatterHTTP
import Foundation
import HTTPTypes
import Hummingbird

/// The web client (`Resources/web`): `GET /` serves `index.html`, and `GET /app/<version>/<file>`
/// its scripts and styles. `<version>` is a hash of every asset, so an asset URL never changes
/// meaning and is cached for a year; `index.html` itself is revalidated on every load. Anything
/// else under `/app` (another version, an unknown file, a sub-path) is a 404. Loaded once, at
/// start, into memory.
struct WebClientRoutes: Sendable {
    /// The page's policy: scripts and styles only from this origin (no inline code), WebSockets
    /// to this host, no plugins, no framing, no `<base>`.
    static let contentSecurityPolicy =
        "default-src 'self'; script-src 'self'; connect-src 'self' ws: wss:; style-src 'self'; img-src 'self' data:; "
        + "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

    struct Asset: Sendable {
        var body: ByteBuffer
        var contentType: String
        var etag: String
    }

    let version: String
    let index: Asset
    let assets: [String: Asset]

    /// Reads `Resources/web` from this module's bundle.
    static func load() throws -> WebClientRoutes {
        guard let root = Bundle.module.url(forResource: "web", withExtension: nil) else {
            throw ChatterError(.internalError, "web client missing", detail: "resource directory web not found in bundle")
        }
        let appDirectory = root.appendingPathComponent("app")
        let names = try FileManager.default.contentsOfDirectory(atPath: appDirectory.path)
            .filter { !$0.hasPrefix(".") && contentType(of: $0) != nil }
            .sorted()
        var files: [(String, Data)] = []
        for name in names {
            files.append((name, try Data(contentsOf: appDirectory.appendingPathComponent(name))))
        }
        let template = try Data(contentsOf: root.appendingPathComponent("index.html"))
        return make(indexTemplate: template, files: files)
    }

    /// `indexTemplate` refers to assets as `__APP__/<file>`; that becomes `/app/<version>/<file>`.
    static func make(indexTemplate: Data, files: [(name: String, contents: Data)]) -> WebClientRoutes {
        var hash = FNV1a()
        for (name, contents) in files {
            hash.add(Data(name.utf8))
            hash.add(contents)
        }
        hash.add(indexTemplate)
        let version = hash.hex
        var assets: [String: Asset] = [:]
        for (name, contents) in files {
            guard let type = contentType(of: name) else { continue }
            var fileHash = FNV1a()
            fileHash.add(contents)
            assets[name] = Asset(body: ByteBuffer(bytes: contents), contentType: type, etag: "\"\(fileHash.hex)\"")
        }
        let html = String(decoding: indexTemplate, as: UTF8.self).replacingOccurrences(of: "__APP__", with: "/app/\(version)")
        let index = Asset(body: ByteBuffer(string: html), contentType: "text/html; charset=utf-8", etag: "\"\(version)\"")
        return WebClientRoutes(version: version, index: index, assets: assets)
    }

    static func contentType(of name: String) -> String? {
        switch (name as NSString).pathExtension {
        case "js": "text/javascript; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        case "html": "text/html; charset=utf-8"
        default: nil
        }
    }

    func addRoutes(to router: some RouterMethods<ChatterRequestContext>) {
        router.get("/") { request, _ in
            var response = Self.respond(index, to: request, cacheControl: "no-cache")
            response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
            response.headers[.webReferrerPolicy] = "no-referrer"
            return response
        }
        router.get("/app/:version/:file") { request, context in
            guard context.parameters.get("version") == version,
                  let name = context.parameters.get("file"), let asset = assets[name]
            else { throw ChatterError(.notFound, "no such file") }
            return Self.respond(asset, to: request, cacheControl: "public, max-age=31536000, immutable")
        }
    }

    static func respond(_ asset: Asset, to request: Request, cacheControl: String) -> Response {
        var headers: HTTPFields = [
            .cacheControl: cacheControl,
            .eTag: asset.etag,
            .xContentTypeOptions: "nosniff",
        ]
        if let match = request.headers[.ifNoneMatch],
           match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == asset.etag }) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = asset.contentType
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: asset.body))
    }
}

/// 64-bit FNV-1a: a stable fingerprint of the assets for their URLs and ETags (not security).
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ data: Data) {
        for byte in data {
            value ^= UInt64(byte)
            value = value &* 0x0000_0100_0000_01b3
        }
    }

    var hex: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

extension HTTPField.Name {
    static let webReferrerPolicy = HTTPField.Name("Referrer-Policy")!
}
