"""The real binary on PostgreSQL (CHATTER_DATABASE_URL, set per server by conftest when the test
script's production-stack run sets CHATTER_E2E_DATABASE_URL): readiness reports the database, a
database outage answers 503 within the acquire timeout (never a 500, a crash or a hang), and
everything recovers by itself, with nothing acknowledged lost and a retried send stored once.

The outage is made on the test's own database only: the server refuses new connections to it
(`ALLOW_CONNECTIONS false`) and terminates the ones the server's pool holds."""

from __future__ import annotations

import os
import time
import uuid
from urllib.parse import urlsplit

import pytest

from conftest import _database_for, _psql, describe

BASE = os.environ.get("CHATTER_E2E_DATABASE_URL")
pytestmark = pytest.mark.skipif(not BASE, reason="needs CHATTER_E2E_DATABASE_URL (scripts/test sets it)")


def set_allowed(name: str, allowed: bool) -> None:
    result = _psql(BASE, f"ALTER DATABASE {name} ALLOW_CONNECTIONS {'true' if allowed else 'false'}")
    assert result.returncode == 0, result.stderr
    if not allowed:
        result = _psql(BASE, f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        assert result.returncode == 0, result.stderr


def test_a_database_outage_is_a_503_that_heals_and_loses_nothing(launch, tmp_path, monkeypatch):
    # A short acquire timeout so that the outage answers quickly.
    monkeypatch.setenv("CHATTER_E2E_DATABASE_URL", BASE + ("&" if "?" in BASE else "?") + "acquire_timeout_ms=1000")
    data_dir = tmp_path / "data-pg"
    name = urlsplit(_database_for(os.environ["CHATTER_E2E_DATABASE_URL"], data_dir)).path.lstrip("/")
    server = launch(data_dir)
    ready = server.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok", ready.text

    alice = server.register()
    token = alice["access_token"]
    r = server.post("/v1/chats", {"type": "group", "title": "through the outage", "member_ids": []}, token=token)
    assert r.status_code == 201, describe(r)
    chat_id = r.json()["id"]
    before = server.post(f"/v1/chats/{chat_id}/messages", {"body": "before", "client_msg_id": "m-before"}, token=token)
    assert before.status_code == 201, describe(before)

    set_allowed(name, False)
    try:
        retried_id = f"m-during-{uuid.uuid4()}"
        for path, body in [("/v1/chats", None), (f"/v1/chats/{chat_id}/messages", {"body": "during", "client_msg_id": retried_id})]:
            started = time.monotonic()
            r = server.post(path, body, token=token) if body else server.get(path, token=token)
            assert r.status_code == 503, describe(r)
            assert r.json()["error"]["code"] == "service_unavailable", describe(r)
            assert time.monotonic() - started < 10, "answers within about the acquire timeout, no hang"
        not_ready = server.get("/readyz")
        assert not_ready.status_code == 503 and not_ready.json()["checks"]["database"] == "unavailable", not_ready.text
        assert server.proc.poll() is None, "the server is still running"
    finally:
        set_allowed(name, True)

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and server.get("/readyz").status_code != 200:
        time.sleep(0.2)
    assert server.get("/readyz").status_code == 200, "recovers by itself"

    # The client retries the send that got 503: it is stored once.
    for _ in range(2):
        r = server.post(f"/v1/chats/{chat_id}/messages", {"body": "during", "client_msg_id": retried_id}, token=token)
        assert r.status_code in (200, 201), describe(r)
    history = server.get(f"/v1/chats/{chat_id}/messages", token=token)
    assert history.status_code == 200, describe(history)
    bodies = [m["body"] for m in history.json()["messages"]]
    assert sorted(bodies) == ["before", "during"], bodies
    assert [m["seq"] for m in sorted(history.json()["messages"], key=lambda m: m["seq"])] == [1, 2]
