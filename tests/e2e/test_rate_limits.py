"""Rate limits across two gateways sharing one Redis (a private redis-server per test, so rules
changed here never reach other tests): one budget for both, a rule changed through the admin
API on one gateway applies on the other within a second, login guessing capped per address
and per account, and the 429's headers."""

from __future__ import annotations

import json
import time

import pytest

from test_redis import REDIS, RedisServer  # noqa: F401  (the skip marker comes with it)
from test_redis import pytestmark  # noqa: F401

ADMIN_TOKEN = "e2e-admin-token-0123456789abcdef"


@pytest.fixture
def gateways(tmp_path, launch, monkeypatch):
    redis = RedisServer(tmp_path).start()
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"rules": [
        {"name": "login-per-ip", "route": "/v1/auth/login", "methods": ["POST"], "key": "ip",
         "capacity": 6, "refill_per_second": 0.001},
        {"name": "login-per-account", "route": "/v1/auth/login", "methods": ["POST"], "key": "account",
         "capacity": 3, "refill_per_second": 0.001},
    ]}))
    monkeypatch.setenv("CHATTER_REDIS_URL", f"redis://127.0.0.1:{redis.port}")
    monkeypatch.setenv("CHATTER_RATE_LIMITS_FILE", str(rules))
    monkeypatch.setenv("CHATTER_ADMIN_TOKEN", ADMIN_TOKEN)
    try:
        yield launch(), launch()
    finally:
        redis.stop()


def login(server, username):
    return server.post("/v1/auth/login", {"username": username, "password": "not the password"})


def assert_limited(r):
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "rate_limited", r.text
    assert int(r.headers["Retry-After"]) >= 1
    assert r.headers["RateLimit-Remaining"] == "0"
    assert int(r.headers["RateLimit-Limit"]) >= 1
    assert int(r.headers["RateLimit-Reset"]) >= 1


def test_login_guessing_is_capped_per_account_and_per_address_across_gateways(gateways):
    a, b = gateways
    # Per account: 3 guesses in all, whichever gateway they go to.
    answers = [login(a, "victim").status_code, login(b, "victim").status_code, login(a, "victim").status_code]
    assert answers == [401, 401, 401]
    assert_limited(login(b, "victim"))
    # Per address: 6 in all from this address (4 spent above), across gateways and accounts.
    assert login(a, "someone-else").status_code == 401
    assert login(b, "another-one").status_code == 401
    assert_limited(login(a, "a-third"))
    assert_limited(login(b, "a-fourth"))


def test_a_rule_changed_on_one_gateway_applies_on_both_within_a_second(gateways, launch):
    a, b = gateways
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    user = b.register()
    assert b.get("/v1/chats", token=user["access_token"]).status_code == 200

    # Keyed by address: the two test servers sign tokens with keys of their own (separate data
    # dirs), so only b accepts this user's token, while an address rule applies before any token.
    rules = {"rules": [{"name": "chats", "route": "/v1/chats", "methods": ["GET"], "key": "ip",
                        "capacity": 2, "refill_per_second": 0.001}]}
    r = a.request("PUT", "/admin/v1/rate-limits", data=json.dumps(rules).encode(),
                  headers={**admin, "Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    changed = time.monotonic()
    applied = False
    while time.monotonic() - changed < 1.0:
        got = b.get("/admin/v1/rate-limits", headers=admin)
        if got.status_code == 200 and [rule["name"] for rule in got.json()["rules"]] == ["chats"]:
            applied = True
            break
        time.sleep(0.02)
    assert applied, "gateway b did not apply the new rules within a second"
    # The address's budget of 2 is shared: two calls on b, then both gateways refuse.
    token = user["access_token"]
    assert b.get("/v1/chats", token=token).status_code == 200
    assert b.get("/v1/chats", token=token).status_code == 200
    assert_limited(a.get("/v1/chats", token=token))
    assert_limited(b.get("/v1/chats", token=token))
    # A gateway that starts now takes the stored rules, not its file.
    c = launch()
    assert [rule["name"] for rule in c.get("/admin/v1/rate-limits", headers=admin).json()["rules"]] == ["chats"]


def test_the_admin_api_needs_the_admin_token(gateways):
    a, _ = gateways
    user = a.register()
    assert a.get("/admin/v1/rate-limits").status_code == 401
    assert a.get("/admin/v1/rate-limits", token=user["access_token"]).status_code == 401
    r = a.request("PUT", "/admin/v1/rate-limits", data=b'{"rules": [{"name": "x"}]}',
                  headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"})
    assert r.status_code == 400, r.text
