import Foundation
@testable import Gateway
import HTTPTypes
import NIOCore
import Testing

/// The web client's routes through the real router (its behaviour in a browser is tested in
/// tests/e2e/test_webclient.py).
@Suite struct WebClientTests {
    @Test func pageHasPolicyAndNamesVersionedAssets() async throws {
        try await withApp { api in
            let page = try await api.call(.get, "/")
            #expect(page.status == .ok)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(page.headers[.cacheControl] == "no-cache")
            #expect(page.headers[.xContentTypeOptions] == "nosniff")
            let csp = try #require(page.headers[.contentSecurityPolicy])
            #expect(csp.hasPrefix("default-src 'self'; script-src 'self';"))
            #expect(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe"))
            #expect(!page.text.contains("__APP__"))

            let match = try #require(page.text.firstMatch(of: /src="\/app\/([0-9a-f]{16})\/main\.js"/))
            let version = String(match.1)
            for (file, type) in [("main.js", "text/javascript"), ("api.js", "text/javascript"), ("style.css", "text/css")] {
                let asset = try await api.call(.get, "/app/\(version)/\(file)")
                #expect(asset.status == .ok, "\(file)")
                #expect(asset.headers[.contentType]?.hasPrefix(type) == true, "\(file)")
                #expect(asset.headers[.cacheControl] == "public, max-age=31536000, immutable")
                #expect(asset.headers[.xContentTypeOptions] == "nosniff")
                let etag = try #require(asset.headers[.eTag])
                let again = try await api.call(.get, "/app/\(version)/\(file)", headers: [.ifNoneMatch: etag])
                #expect(again.status == .notModified)
            }
            for path in ["/app/\(version)/missing.js", "/app/0000000000000000/main.js", "/app/main.js", "/app/\(version)/a/b.js", "/app"] {
                let missing = try await api.call(.get, path)
                #expect(missing.status == .notFound, "\(path)")
            }
        }
    }

    @Test func fingerprintIsFNV1a() {
        var hash = FNV1a()
        hash.add(Data("a".utf8))
        #expect(hash.hex == "af63dc4c8601ec8c")  // the published 64-bit FNV-1a vector
        #expect(FNV1a().hex == "cbf29ce484222325")
    }

    @Test func versionChangesWithAnyAsset() {
        let page = Data("<script src=\"__APP__/main.js\"></script>".utf8)
        let one = WebClientRoutes.make(indexTemplate: page, files: [(name: "main.js", contents: Data("1".utf8))])
        let two = WebClientRoutes.make(indexTemplate: page, files: [(name: "main.js", contents: Data("2".utf8))])
        #expect(one.version != two.version)
        #expect(one.index.body.getString(at: 0, length: one.index.body.readableBytes) == "<script src=\"/app/\(one.version)/main.js\"></script>")
        #expect(one.assets["main.js"]?.contentType == "text/javascript; charset=utf-8")
    }
}
