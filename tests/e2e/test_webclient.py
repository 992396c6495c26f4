"""The web client served at `/`, driven in headless Chromium (Debian's `chromium`, through
Playwright for Python with `executable_path`; no browser download).

Without Chromium (or Playwright) these tests skip, unless CHATTER_REQUIRE_SERVICES is set (as
`scripts/test` does), where that is a failure. Screenshots of the chat view land in the test's
temporary directory; with CHATTER_UPDATE_SCREENSHOTS=1 they are also copied to
docs/screenshots/ (the README links them).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from conftest import REPO_ROOT

CHROMIUM = os.environ.get("CHATTER_CHROMIUM", "/usr/bin/chromium")
CSP = ("default-src 'self'; script-src 'self'; connect-src 'self' ws: wss:; style-src 'self'; "
       "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
TIMEOUT_MS = 10_000
PASSWORD = "correct-horse-1"
XSS = "<img src=x onerror=alert(1)>"


def _missing(what: str):
    if os.environ.get("CHATTER_REQUIRE_SERVICES"):
        pytest.fail(f"{what} (CHATTER_REQUIRE_SERVICES is set, so this is a failure, not a skip)")
    pytest.skip(what)


@pytest.fixture
def browser():
    chromium = shutil.which(CHROMIUM) or (CHROMIUM if os.access(CHROMIUM, os.X_OK) else None)
    if chromium is None:
        _missing(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright for Python is not installed (pip install -r tests/requirements.txt)")
    # Chromium refuses to run as root with its sandbox.
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium, args=args)
        try:
            yield instance
        finally:
            instance.close()


class Client:
    """One person in their own browser context (own storage, own socket)."""

    def __init__(self, browser, server, viewport=None):
        self.context = browser.new_context(viewport=viewport or {"width": 1280, "height": 800})
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text)
                     if m.type == "error" and "Content Security Policy" in m.text else None)
        self.page.goto(server.base_url + "/")

    def register(self, username: str, display_name: str):
        p = self.page
        p.get_by_role("tab", name="Create account").click()
        p.get_by_label("Username", exact=True).fill(username)
        p.get_by_label("Display name (optional)").fill(display_name)
        p.get_by_label("Password", exact=True).fill(PASSWORD)
        p.get_by_role("button", name="Create account", exact=True).click()
        p.locator("#app-view").wait_for(state="visible")
        self.wait_online()

    def login(self, username: str):
        p = self.page
        p.get_by_label("Username", exact=True).fill(username)
        p.get_by_label("Password", exact=True).fill(PASSWORD)
        p.get_by_role("button", name="Sign in", exact=True).click()
        p.locator("#app-view").wait_for(state="visible")
        self.wait_online()

    def wait_online(self):
        self.page.locator("#status").wait_for(state="hidden")

    def start_direct(self, username: str):
        p = self.page
        p.get_by_role("button", name="New chat").click()
        p.get_by_label("Find people by username").fill(username)
        p.get_by_role("button", name=f"Chat with {username}").click()
        p.locator("#chat-pane").wait_for(state="visible")

    def start_group(self, title: str, usernames: list[str]):
        p = self.page
        p.get_by_role("button", name="New chat").click()
        p.get_by_role("tab", name="Group").click()
        p.get_by_label("Group title").fill(title)
        for username in usernames:
            p.get_by_label("Find people by username").fill(username)
            p.get_by_label(f"Add {username}", exact=True).check()
        p.get_by_role("button", name="Create group").click()
        p.locator("#chat-pane").wait_for(state="visible")
        expect_text(p.locator("#chat-title"), title)

    def chat_item(self, title: str):
        """The chat list entry whose name is exactly `title`."""
        name = self.page.locator(".chat-name", has_text=re.compile(f"^{re.escape(title)}$"))
        return self.page.locator("#chat-list .chat-item").filter(has=name)

    def open_chat(self, title: str):
        self.chat_item(title).click()
        expect_text(self.page.locator("#chat-title"), title)

    def send(self, text: str):
        box = self.page.get_by_label("Message", exact=True)
        box.fill(text)
        box.press("Enter")

    def bodies(self) -> list[str]:
        return self.page.locator("#messages .msg .body").all_text_contents()

    def wait_bodies(self, expected: list[str], confirmed: bool = True):
        """The open chat shows exactly `expected` (each once, in this order), all stored."""
        def check():
            if self.bodies() != expected:
                return False
            return not confirmed or self.page.locator("#messages .msg:not([data-seq])").count() == 0
        wait_until(self.page, check, lambda: f"messages {self.bodies()!r} != {expected!r}")
        seqs = [int(s) for s in self.page.locator("#messages .msg").evaluate_all(
            "nodes => nodes.map(n => n.dataset.seq || '0')")]
        if confirmed:
            assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs


UNLABELLED_JS = """() => [...document.querySelectorAll('button, input, textarea, select')]
    .filter(el => el.getClientRects().length > 0)
    .filter(el => !(el.getAttribute('aria-label') || (el.labels && el.labels.length) || el.textContent.trim()))
    .map(el => el.outerHTML.slice(0, 120))"""


def assert_labelled(page):
    """Every visible control has an accessible name (aria-label, a <label>, or its text)."""
    unlabelled = page.evaluate(UNLABELLED_JS)
    assert unlabelled == [], unlabelled


def wait_until(page, check, describe, timeout_ms=TIMEOUT_MS):
    deadline = timeout_ms
    while deadline > 0:
        if check():
            return
        page.wait_for_timeout(100)
        deadline -= 100
    raise AssertionError(describe())


def expect_text(locator, text):
    from playwright.sync_api import expect
    expect(locator).to_have_text(text, timeout=TIMEOUT_MS)


# -- the page and its assets ----------------------------------------------------------

def test_page_has_strict_csp_and_assets_are_long_cached(server):
    r = server.get("/")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert r.headers["Content-Security-Policy"] == CSP
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Cache-Control"] == "no-cache"
    html = r.text
    # No inline code: every script has a src, no inline style or event-handler attributes.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), html
    assert not re.search(r"\s(style|on[a-z]+)\s*=", html, re.I), html
    assets = re.findall(r'(?:src|href)="(/app/([0-9a-f]{16})/([a-z]+\.(?:js|css|svg)))"', html)
    assert {name for _, _, name in assets} >= {"main.js", "style.css"}, html
    version = assets[0][1]
    assert all(v == version for _, v, _ in assets)
    for path, _, name in assets:
        a = server.get(path)
        assert a.status_code == 200, path
        assert a.headers["Cache-Control"] == "public, max-age=31536000, immutable", path
        assert a.headers["X-Content-Type-Options"] == "nosniff"
        expected_type = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml"}[name.rsplit(".", 1)[1]]
        assert a.headers["Content-Type"].startswith(expected_type), (path, a.headers["Content-Type"])
        etag = a.headers["ETag"]
        assert server.get(path, headers={"If-None-Match": etag}).status_code == 304
    # Modules import each other relatively, so they all live under the same version.
    assert server.get(f"/app/{version}/api.js").status_code == 200
    for missing in (f"/app/{version}/nope.js", "/app/0000000000000000/main.js", "/app/main.js",
                    f"/app/{version}/../index.html", "/app/", "/app"):
        assert server.get(missing).status_code == 404, missing
    # The rest of the server is untouched.
    assert server.get("/healthz").status_code == 200
    assert server.get("/openapi.yaml").status_code == 200
    assert server.get("/asyncapi.yaml").status_code == 200
    assert server.get("/v1/users/me").status_code == 401


# -- two people chatting --------------------------------------------------------------

def test_two_browsers_chat_live_survive_going_offline_and_render_text_only(server, browser, tmp_path):
    alice = Client(browser, server)
    bob = Client(browser, server)
    alice.register("alice", "Alice")
    bob.register("bob", "Bob")

    # A direct chat: Alice starts it, Bob sees it appear and both talk live.
    alice.start_direct("bob")
    alice.send("Hi Bob!")
    alice.wait_bodies(["Hi Bob!"])
    bob.open_chat("Alice")
    bob.wait_bodies(["Hi Bob!"])
    bob.send("Hey Alice, how are you?")
    alice.wait_bodies(["Hi Bob!", "Hey Alice, how are you?"])
    bob.wait_bodies(["Hi Bob!", "Hey Alice, how are you?"])
    # Typing: Bob types, Alice is told.
    bob.page.get_by_label("Message", exact=True).press_sequentially("typ")
    expect_text(alice.page.locator("#typing"), "Bob is typing…")
    bob.page.get_by_label("Message", exact=True).fill("")

    # A group: Alice creates it with Bob; both write in it.
    alice.start_group("Weekend plans", ["bob"])
    alice.send("Hiking on Saturday?")
    bob.open_chat("Weekend plans")
    bob.wait_bodies(["Hiking on Saturday?"])
    bob.send("I'm in")
    alice.wait_bodies(["Hiking on Saturday?", "I'm in"])
    # Bob read it: Alice's message says so.
    expect_text(alice.page.locator("#messages .msg.mine .state").first, "Seen by Bob")

    # Unread badge and ordering by activity: Alice writes in the direct chat while Bob looks
    # at the group.
    alice.open_chat("Bob")
    alice.send("Did you see the forecast?")
    bob_direct = bob.chat_item("Alice")
    expect_text(bob_direct.locator(".badge"), "1")
    expect_text(bob_direct.locator(".preview"), "Did you see the forecast?")
    expect_text(bob.page.locator("#chat-list li").first.locator(".chat-name"), "Alice")

    # Bob opens the direct chat and goes offline; Alice keeps writing, Bob writes too.
    bob.open_chat("Alice")
    before = ["Hi Bob!", "Hey Alice, how are you?", "Did you see the forecast?"]
    bob.wait_bodies(before)
    expect_text(bob_direct.locator(".badge"), "0")
    bob.context.set_offline(True)
    bob.page.locator("#status").wait_for(state="visible")
    assert re.search(r"reconnecting", bob.page.locator("#status").text_content(), re.I)
    missed = [f"While you were away #{i}" for i in range(1, 6)]
    for text in missed:
        alice.send(text)
    alice.wait_bodies(before + missed)
    bob.send("Sent from the tunnel")  # stays pending, to be sent on reconnect
    bob.page.locator("#messages .msg.pending").wait_for()
    alice.open_chat("Weekend plans")
    alice.send("Bring water")

    bob.context.set_offline(False)
    bob.wait_online()
    everything = before + missed + ["Sent from the tunnel"]
    bob.wait_bodies(everything)
    bob.open_chat("Weekend plans")
    bob.wait_bodies(["Hiking on Saturday?", "I'm in", "Bring water"])
    alice.open_chat("Bob")
    alice.wait_bodies(everything)  # Bob's retried message arrived once
    bob.open_chat("Alice")
    bob.wait_bodies(everything)
    # Presence: on connecting, Bob was told which of his contacts are online.
    bob.page.locator("#chat-presence.online").wait_for()

    # HTML in a message is text: no image element, no script, no dialog.
    alice.send(XSS)
    bob.wait_bodies(everything + [XSS])
    alice.wait_bodies(everything + [XSS])
    for client in (alice, bob):
        assert client.page.locator("#messages img").count() == 0
        assert client.page.locator("#chat-list img").count() == 0
    expect_text(bob.chat_item("Alice").locator(".preview"), XSS)

    # Edit and delete one's own message; the other side follows live.
    seq = alice.page.locator("#messages .msg.mine", has_text="While you were away #2").get_attribute("data-seq")
    own = alice.page.locator(f'#messages .msg[data-seq="{seq}"]')
    own.hover()
    own.get_by_role("button", name="Edit this message").click()
    editor = own.get_by_label("Edit message")
    editor.fill("While you were away #2 (edited)")
    editor.press("Enter")
    bob_edited = bob.page.locator("#messages .msg", has_text="While you were away #2 (edited)")
    bob_edited.locator(".edited").wait_for()
    own = alice.page.locator("#messages .msg.mine", has_text="While you were away #3")
    own.hover()
    own.get_by_role("button", name="Delete this message").click()
    own.get_by_role("button", name="Confirm: delete this message").click()
    bob.page.locator("#messages .msg.deleted").wait_for()
    expect_text(bob.page.locator("#messages .msg.deleted .body"), "Message deleted")

    # The chat view at a wide and a narrow window.
    shots = tmp_path / "screenshots"
    shots.mkdir()
    bob.page.locator("#messages-scroller").evaluate("el => el.scrollTop = el.scrollHeight")
    bob.page.screenshot(path=str(shots / "chat-desktop.png"))
    bob.page.set_viewport_size({"width": 390, "height": 844})
    bob.page.locator("#back").wait_for(state="visible")
    assert not bob.page.locator(".sidebar").is_visible()  # one pane at a time
    bob.page.locator("#messages-scroller").evaluate("el => el.scrollTop = el.scrollHeight")
    bob.page.screenshot(path=str(shots / "chat-mobile.png"))
    bob.page.get_by_role("button", name="Back to chats").click()
    bob.page.locator(".sidebar").wait_for(state="visible")
    for name in ("chat-desktop.png", "chat-mobile.png"):
        assert (shots / name).stat().st_size > 10_000
        if os.environ.get("CHATTER_UPDATE_SCREENSHOTS") == "1":
            target = REPO_ROOT / "docs" / "screenshots"
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shots / name, target / name)

    for client in (alice, bob):
        assert_labelled(client.page)
        assert client.dialogs == [], client.dialogs
        assert client.errors == [], client.errors


def test_catch_up_starts_below_a_hole_an_early_ack_left(server, browser):
    """After a reconnect, the tick can resend a pending message before the catch-up `sync` goes
    out; its ack then lands past the messages missed while offline. The catch-up must start
    below that hole, not at the highest seq held — which is how the test above sometimes ended
    with the missed messages never shown."""
    client = Client(browser, server)
    client.register("erin", "Erin")
    positions = client.page.evaluate("""() => {
        const store = window.chatter.store;
        const id = "chat-with-a-hole";
        const entry = store.messagesOf(id);
        for (const seq of [1, 2, 3, 9]) entry.put({ id: `m${seq}`, chat_id: id, seq });
        entry.loaded = true;
        store.chats.set(id, { id, last_seq: 9 });
        const since = store.syncPositions()[id];
        const held = [entry.contiguousSeq, entry.maxSeq];
        entry.put({ id: "m4", chat_id: id, seq: 4 });
        const afterOne = store.syncPositions()[id];
        store.chats.delete(id);
        store.messages.delete(id);
        return { since, held, afterOne };
    }""")
    assert positions == {"since": 3, "held": [3, 9], "afterOne": 4}, positions


def test_history_pages_back_and_a_revoked_session_returns_to_login(server, browser):
    # Seed a long history over REST, then sign in from the browser.
    carol = server.register("carol")
    dave = server.register("dave")
    r = server.post("/v1/chats", {"type": "direct", "member_ids": [dave["user"]["id"]]}, token=carol["access_token"])
    chat_id = r.json()["id"]
    for i in range(1, 121):
        r = server.post(f"/v1/chats/{chat_id}/messages", {"body": f"message {i}", "client_msg_id": f"seed-{i}"},
                        token=carol["access_token"])
        assert r.status_code == 201, r.text

    client = Client(browser, server)
    client.page.locator("#auth-view").wait_for(state="visible")
    assert_labelled(client.page)  # the sign-in form
    client.login("dave")
    entry = client.chat_item("carol")
    expect_text(entry.locator(".badge"), "99+")
    client.open_chat("carol")
    client.wait_bodies([f"message {i}" for i in range(71, 121)])
    # Scrolling to the top fetches older pages (before_seq) and keeps the order.
    for _ in range(10):
        if len(client.bodies()) == 120:
            break
        client.page.locator("#messages-scroller").evaluate("el => el.scrollTop = 0")
        client.page.wait_for_timeout(300)
    client.wait_bodies([f"message {i}" for i in range(1, 121)])
    assert client.page.locator("#load-older").is_hidden()

    # A reload keeps the session (the refresh token is in this tab's sessionStorage).
    client.page.reload()
    client.page.locator("#app-view").wait_for(state="visible")
    client.wait_online()
    assert client.page.evaluate("() => window.chatter.api.accessToken !== null")
    assert client.page.evaluate("() => Object.keys(localStorage).length") == 0

    # Revoking the session elsewhere (logout with the tab's own refresh token) closes the
    # socket with 4003: the page goes back to the sign-in form and says why.
    refresh = client.page.evaluate("() => sessionStorage.getItem('chatter.refresh_token')")
    r = server.post("/v1/auth/refresh", {"refresh_token": refresh})
    assert r.status_code == 200, r.text
    r = server.post("/v1/auth/logout", token=r.json()["access_token"], data=b"")
    assert r.status_code == 204
    client.page.locator("#auth-view").wait_for(state="visible")
    expect_text(client.page.locator("#auth-notice"),
                "Your session was ended (signed out or revoked elsewhere). Please sign in again.")
    assert client.page.evaluate("() => sessionStorage.getItem('chatter.refresh_token')") is None
    assert client.errors == [], client.errors


def test_group_title_members_and_roles(server, browser):
    alice = Client(browser, server)
    bob = Client(browser, server)
    alice.register("alice", "Alice")
    bob.register("bob", "Bob")
    alice.start_group("Book club", [])

    # Alice (the owner) adds Bob from the details dialog; the group appears for Bob live.
    alice.page.get_by_role("button", name="Chat details").click()
    alice.page.get_by_label("Add a member by username").fill("bob")
    alice.page.get_by_role("button", name="Add bob to the group").click()
    members = alice.page.locator("#member-list .member")
    expect_text(members.locator(".member-name"), ["You", "Bob"])
    assert_labelled(alice.page)
    expect_text(members.locator(".role"), ["owner", "member"])
    # Renaming: Bob sees the new title without reloading.
    alice.page.get_by_label("Title", exact=True).fill("Book club (fiction)")
    alice.page.get_by_role("button", name="Save", exact=True).click()
    expect_text(bob.chat_item("Book club (fiction)").locator(".chat-name"), "Book club (fiction)")
    bob.open_chat("Book club (fiction)")
    bob.page.get_by_role("button", name="Chat details").click()
    expect_text(bob.page.locator("#member-list .role"), ["owner", "member"])
    assert bob.page.get_by_label("Title", exact=True).is_disabled()  # members cannot rename
    assert bob.page.get_by_role("button", name="Remove Alice").count() == 0
    bob.page.get_by_role("button", name="Close", exact=True).click()

    # Removing Bob takes the group off his list (and out of his view).
    alice.page.get_by_role("button", name="Remove Bob").click()
    expect_text(members.locator(".member-name"), ["You"])
    bob.chat_item("Book club (fiction)").wait_for(state="detached")
    bob.page.locator("#no-chat").wait_for(state="visible")

    # Added again, Bob leaves by himself.
    alice.page.get_by_label("Add a member by username").fill("bob")
    alice.page.get_by_role("button", name="Add bob to the group").click()
    expect_text(members.locator(".member-name"), ["You", "Bob"])
    bob.open_chat("Book club (fiction)")
    bob.page.get_by_role("button", name="Chat details").click()
    bob.page.get_by_role("button", name="Leave group").click()
    bob.chat_item("Book club (fiction)").wait_for(state="detached")
    expect_text(members.locator(".member-name"), ["You"])

    # Signing out ends the session on the server too; signing in again works.
    refresh = bob.page.evaluate("() => sessionStorage.getItem('chatter.refresh_token')")
    bob.page.get_by_role("button", name="Sign out").click()
    expect_text(bob.page.locator("#auth-notice"), "You have signed out.")
    assert bob.page.evaluate("() => sessionStorage.getItem('chatter.refresh_token')") is None
    assert server.post("/v1/auth/refresh", {"refresh_token": refresh}).status_code == 401
    bob.login("bob")
    expect_text(bob.page.locator("#me"), "Bob")
    for client in (alice, bob):
        assert client.errors == [], client.errors


def test_access_token_is_refreshed_silently_and_the_socket_comes_back(launch, browser, monkeypatch):
    # Four-second access tokens: the client must refresh before each runs out.
    monkeypatch.setenv("CHATTER_ACCESS_TOKEN_TTL_SECONDS", "4")
    server = launch()
    r = server.post("/v1/auth/register", {"username": "erin", "password": PASSWORD})
    assert r.status_code == 201, r.text
    client = Client(browser, server)
    client.register("frank", "Frank")
    first_access = client.page.evaluate("() => window.chatter.api.accessToken")
    first_refresh = client.page.evaluate("() => sessionStorage.getItem('chatter.refresh_token')")
    client.page.wait_for_timeout(6_000)  # past the first token's expiry
    assert client.page.evaluate("() => window.chatter.api.accessToken") not in (None, first_access)
    assert client.page.evaluate("() => sessionStorage.getItem('chatter.refresh_token')") not in (None, first_refresh)
    # REST calls work with the refreshed token...
    client.start_direct("erin")
    client.send("still signed in")
    client.wait_bodies(["still signed in"])
    # ...and a dropped socket reconnects with a fresh one (an expired token would get 4001).
    client.page.evaluate("() => window.chatter.socket.ws.close()")
    client.page.locator("#status").wait_for(state="visible")
    client.wait_online()
    client.send("and reconnected")
    client.wait_bodies(["still signed in", "and reconnected"])
    # A send whose answer is lost with the connection is sent again with the same
    # client_msg_id after the reconnect: it is stored and shown once.
    client.page.evaluate("""() => {
        const app = window.chatter;
        app.send(app.store.openChatId, "sent as the socket dropped");
        app.socket.ws.close();
    }""")
    client.wait_online()
    expected = ["still signed in", "and reconnected", "sent as the socket dropped"]
    client.wait_bodies(expected)
    chat_id = client.page.evaluate("() => window.chatter.store.openChatId")
    token = client.page.evaluate("() => window.chatter.api.accessToken")
    r = server.get(f"/v1/chats/{chat_id}/messages", token=token)
    assert [m["body"] for m in r.json()["messages"]] == expected, r.text
    assert client.page.locator("#app-view").is_visible()
    assert client.errors == [], client.errors
