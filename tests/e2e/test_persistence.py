"""2. Graceful shutdown (SIGTERM → exit 0) and persistence across a restart."""

import signal
import stat
import time
import uuid

from conftest import STOP_GRACE_S, assert_session, describe


def test_sigterm_exits_cleanly_and_state_survives_restart(launch):
    first = launch()
    data_dir = first.data_dir

    owner = first.register(display_name="Owner")
    other = first.register()
    token = owner["access_token"]

    r = first.post("/v1/chats", {"type": "group", "title": "persisted",
                                 "member_ids": [other["user"]["id"]]}, token=token)
    assert r.status_code == 201, describe(r)
    chat = r.json()
    assert chat["type"] == "group" and chat["title"] == "persisted", chat
    roles = {m["user_id"]: m["role"] for m in chat["members"]}
    assert roles == {owner["user"]["id"]: "owner", other["user"]["id"]: "member"}, chat
    chat_id = chat["id"]

    sent = []
    for i in range(1, 4):
        r = first.post(f"/v1/chats/{chat_id}/messages",
                       {"body": f"message {i}", "client_msg_id": str(uuid.uuid4())}, token=token)
        assert r.status_code == 201, describe(r)
        assert r.json()["seq"] == i, r.json()
        sent.append(r.json())

    # SIGTERM: the process must exit by itself, with code 0, within 10 s.
    started = time.monotonic()
    code = first.stop(signal.SIGTERM, grace=STOP_GRACE_S)
    elapsed = time.monotonic() - started
    assert not first.killed, f"chatter ignored SIGTERM for {STOP_GRACE_S}s and had to be killed"
    assert code == 0, f"chatter exited with {code} after SIGTERM"
    assert elapsed < STOP_GRACE_S

    # Restart on the same data dir (a new port).
    second = launch(data_dir)
    assert second.port is not None

    r = second.get("/v1/users/me", token=token)
    assert r.status_code == 200, describe(r)
    assert r.json()["id"] == owner["user"]["id"]
    assert r.json()["username"] == owner["user"]["username"]

    r = second.get(f"/v1/chats/{chat_id}/messages", token=token)
    assert r.status_code == 200, describe(r)
    history = r.json()["messages"]
    assert [m["seq"] for m in history] == [1, 2, 3], history
    assert [m["id"] for m in history] == [m["id"] for m in sent]
    assert [m["body"] for m in history] == ["message 1", "message 2", "message 3"]

    r = second.get(f"/v1/chats/{chat_id}", token=token)
    assert r.status_code == 200, describe(r)
    assert r.json()["last_seq"] == 3 and r.json()["title"] == "persisted", r.json()

    r = second.post("/v1/auth/refresh", {"refresh_token": owner["refresh_token"]})
    rotated = assert_session(r, 200, owner["user"]["username"])
    assert rotated["refresh_token"] != owner["refresh_token"]
    r = second.get("/v1/users/me", token=rotated["access_token"])
    assert r.status_code == 200, describe(r)

    keys = data_dir / "signing-keys.json"
    assert keys.is_file(), f"{keys} missing; data dir has {sorted(p.name for p in data_dir.iterdir())}"
    mode = stat.S_IMODE(keys.stat().st_mode)
    assert mode == 0o600, f"signing-keys.json has mode {oct(mode)}, want 0o600"


def test_a_short_shutdown_budget_still_exits_cleanly(launch, monkeypatch):
    """CHATTER_SHUTDOWN_TIMEOUT_SECONDS bounds a stuck shutdown; a healthy one, with a socket
    open and traffic just served, finishes inside even a 1 s budget and exits 0, not 1."""
    monkeypatch.setenv("CHATTER_SHUTDOWN_TIMEOUT_SECONDS", "1")
    server = launch()
    user = server.register()
    r = server.get("/v1/users/me", token=user["access_token"])
    assert r.status_code == 200, describe(r)
    code = server.stop(signal.SIGTERM, grace=STOP_GRACE_S)
    assert not server.killed and code == 0, f"exit code {code}"
    assert "shutdown did not finish in time" not in server.logs()
