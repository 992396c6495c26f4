import ChatterCore
import Testing

@testable import ChatService

@Suite struct MembershipCacheTests {
    let member = Membership(chatType: .group, role: .member)

    @Test func keepsConfirmedMembershipsUntilTheChatChanges() {
        let cache = MembershipCache()
        let (missing, version) = cache.lookup(chatID: "c", userID: "u")
        #expect(missing == nil)
        cache.store(member, chatID: "c", userID: "u", version: version)
        #expect(cache.lookup(chatID: "c", userID: "u").membership == member)
        cache.invalidate(chatID: "c")
        #expect(cache.lookup(chatID: "c", userID: "u").membership == nil)
    }

    @Test func aReadThatStartedBeforeAChangeDoesNotStoreItsStaleAnswer() {
        let cache = MembershipCache()
        let before = cache.lookup(chatID: "c", userID: "u").version  // a read starts…
        cache.invalidate(chatID: "c")  // …the member is removed meanwhile…
        cache.store(member, chatID: "c", userID: "u", version: before)  // …and the read finishes.
        #expect(cache.lookup(chatID: "c", userID: "u").membership == nil)
    }

    @Test func staysBounded() {
        let cache = MembershipCache(capacity: 2)
        for chat in ["a", "b", "c"] { cache.store(member, chatID: chat, userID: "u", version: 0) }
        let held = ["a", "b", "c"].filter { cache.lookup(chatID: $0, userID: "u").membership != nil }
        #expect(held.count <= 2 && held.contains("c"))
    }
}
