"""3. Logout and 4. refresh-token reuse detection."""

import signal

from conftest import assert_error, assert_session, describe


def test_logout_revokes_access_and_refresh_tokens_even_after_restart(launch):
    first = launch()
    user = first.register()
    token, refresh = user["access_token"], user["refresh_token"]

    # A second, independent session of the same user must be unaffected.
    r = first.post("/v1/auth/login", {"username": user["user"]["username"], "password": user["password"]})
    other = assert_session(r, 200, user["user"]["username"])

    r = first.get("/v1/users/me", token=token)
    assert r.status_code == 200, describe(r)

    r = first.post("/v1/auth/logout", token=token, data=b"")
    assert r.status_code == 204, describe(r)
    assert r.content == b""

    assert_error(first.get("/v1/users/me", token=token), 401, "unauthorized")
    r = first.post("/v1/auth/refresh", {"refresh_token": refresh})
    assert r.status_code == 401, describe(r)
    assert r.json()["error"]["code"] in ("invalid_refresh_token", "refresh_token_reused"), describe(r)

    r = first.get("/v1/users/me", token=other["access_token"])
    assert r.status_code == 200, describe(r)

    # The revocation survives a graceful restart.
    assert first.stop(signal.SIGTERM) == 0
    second = launch(first.data_dir)
    assert_error(second.get("/v1/users/me", token=token), 401, "unauthorized")
    r = second.post("/v1/auth/refresh", {"refresh_token": refresh})
    assert r.status_code == 401, describe(r)
    r = second.get("/v1/users/me", token=other["access_token"])
    assert r.status_code == 200, describe(r)


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(server):
    user = server.register()
    username = user["user"]["username"]
    old_refresh = user["refresh_token"]

    r = server.post("/v1/auth/refresh", {"refresh_token": old_refresh})
    rotated = assert_session(r, 200, username)
    new_refresh, new_access = rotated["refresh_token"], rotated["access_token"]
    assert new_refresh != old_refresh
    assert rotated["user"]["id"] == user["user"]["id"]
    r = server.get("/v1/users/me", token=new_access)
    assert r.status_code == 200, describe(r)

    # Presenting the already-rotated token again is theft.
    assert_error(server.post("/v1/auth/refresh", {"refresh_token": old_refresh}),
                 401, "refresh_token_reused")

    # ...so the newest refresh token and the session's access tokens are dead too.
    r = server.post("/v1/auth/refresh", {"refresh_token": new_refresh})
    assert r.status_code == 401, describe(r)
    assert r.json()["error"]["code"] in ("invalid_refresh_token", "refresh_token_reused"), describe(r)
    assert_error(server.get("/v1/users/me", token=new_access), 401, "unauthorized")
    assert_error(server.get("/v1/users/me", token=user["access_token"]), 401, "unauthorized")

    # A fresh login still works.
    r = server.post("/v1/auth/login", {"username": username, "password": user["password"]})
    fresh = assert_session(r, 200, username)
    r = server.get("/v1/users/me", token=fresh["access_token"])
    assert r.status_code == 200, describe(r)


def test_unknown_refresh_token_is_invalid(server):
    assert_error(server.post("/v1/auth/refresh", {"refresh_token": "not-a-real-token"}),
                 401, "invalid_refresh_token")
