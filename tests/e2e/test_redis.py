"""The real binary with Redis holding the revocation list (CHATTER_REDIS_URL): readiness reports
it, a Redis outage answers 503 (never 500, never a crash or a hang, never "not revoked"), and
everything recovers by itself when Redis is back. The test starts and stops its own
redis-server by PID on a free loopback port."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import json
import struct

import pytest
import requests
import websocket

from conftest import free_port

REDIS = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(
    REDIS is None and os.environ.get("CHATTER_REQUIRE_SERVICES") != "1", reason="needs redis-server on PATH")


class RedisServer:
    def __init__(self, directory):
        self.port = free_port()
        self.directory = directory
        self.proc: subprocess.Popen | None = None

    def start(self) -> "RedisServer":
        assert REDIS, "redis-server is required (CHATTER_REQUIRE_SERVICES=1)"
        self.proc = subprocess.Popen(
            [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                import socket
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def redis(tmp_path):
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


def test_revocation_lives_in_redis_and_an_outage_is_a_503_that_heals(launch, redis, monkeypatch):
    monkeypatch.setenv("CHATTER_REDIS_URL", f"redis://127.0.0.1:{redis.port}")
    server = launch()
    ready = server.get("/readyz")
    checks = ready.json()["checks"]
    assert ready.status_code == 200 and checks["database"] == "ok" and checks["redis"] == "ok", ready.text
    assert set(checks.values()) == {"ok"}, ready.text

    alice = server.register()
    token = alice["access_token"]
    assert server.get("/v1/users/me", token=token).status_code == 200

    # Logout is written to Redis: the token stops working at once.
    bob = server.register()
    assert server.post("/v1/auth/logout", token=bob["access_token"], data=b"").status_code == 204
    assert server.get("/v1/users/me", token=bob["access_token"]).status_code == 401

    redis.stop()
    started = time.monotonic()
    down = server.get("/v1/users/me", token=token)
    assert down.status_code == 503, down.text
    assert down.json()["error"]["code"] == "service_unavailable"
    assert time.monotonic() - started < 10, "a Redis outage must not hang requests"
    not_ready = server.get("/readyz")
    assert not_ready.status_code == 503 and not_ready.json()["checks"]["redis"] == "unavailable", not_ready.text
    # Work that needs no token goes on.
    assert server.get("/healthz").status_code == 200
    # A socket whose token cannot be checked is told to come back later (1013), not to log in again.
    ws_url = server.base_url.replace("http://", "ws://") + "/v1/ws"
    by_header = websocket.create_connection(ws_url, header=[f"Authorization: Bearer {token}"], timeout=10)
    by_frame = websocket.create_connection(ws_url, timeout=10)
    by_frame.send(json.dumps({"type": "auth", "token": token}))
    for ws in (by_header, by_frame):
        opcode, frame = ws.recv_data_frame(control_frame=True)
        assert opcode == websocket.ABNF.OPCODE_CLOSE
        assert struct.unpack("!H", frame.data[:2])[0] == 1013

    # Back on the same port: the server recovers by itself; the revoked session stays revoked
    # (restored from the session store into the fresh Redis).
    redis.proc = None
    redis.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        r = server.get("/v1/users/me", token=token)
        if r.status_code == 200:
            break
        time.sleep(0.2)
    assert r.status_code == 200, r.text
    assert server.get("/readyz").status_code == 200
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        revoked = server.get("/v1/users/me", token=bob["access_token"])
        if revoked.status_code == 401:
            break
        time.sleep(0.2)
    assert revoked.status_code == 401, "a logged-out session must stay revoked after Redis lost its data"
    assert server.proc.poll() is None, "the server must not have crashed"


def _answer_to(ws: websocket.WebSocket, client_msg_id: str) -> dict:
    """The `ack` or `error` frame for a send, skipping the events around it."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        ws.settimeout(max(0.1, deadline - time.monotonic()))
        frame = json.loads(ws.recv())
        if frame.get("type") in ("ack", "error") and frame.get("client_msg_id") == client_msg_id:
            return frame
    raise AssertionError(f"no answer to {client_msg_id}")


def test_a_send_whose_history_version_cannot_be_replaced_is_not_acknowledged_until_its_retry(launch, redis, monkeypatch):
    """The newest history page is served from memory while the chat's version in Redis is unchanged
    (docs/architecture.md, "History page cache"). With Redis down a send still commits but cannot
    replace that version, so it is answered with an error, not an ack; once Redis is back its
    retry (same client_msg_id) is acknowledged as the same message, and the next page shows it."""
    monkeypatch.setenv("CHATTER_REDIS_URL", f"redis://127.0.0.1:{redis.port}")
    server = launch()
    alice = server.register()
    token = alice["access_token"]
    chat = server.post("/v1/chats", token=token, json={"type": "group", "title": "outage", "member_ids": []})
    assert chat.status_code == 201, chat.text
    chat_id = chat.json()["id"]
    assert server.post(f"/v1/chats/{chat_id}/messages", token=token,
                       json={"body": "before", "client_msg_id": "before-1"}).status_code == 201
    page = f"/v1/chats/{chat_id}/messages"
    for _ in range(2):  # the second read is served from memory
        assert [m["body"] for m in server.get(page, token=token).json()["messages"]] == ["before"]

    ws = websocket.create_connection(server.base_url.replace("http://", "ws://") + "/v1/ws",
                                     header=[f"Authorization: Bearer {token}"], timeout=10)
    assert json.loads(ws.recv())["type"] == "ready"
    redis.stop()
    frame = {"type": "send", "chat_id": chat_id, "body": "during the outage", "client_msg_id": "outage-1"}
    ws.send(json.dumps(frame))
    refused = _answer_to(ws, "outage-1")
    assert refused["type"] == "error" and refused["error"]["code"] == "service_unavailable", refused
    assert server.proc.poll() is None

    redis.proc = None
    redis.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and server.get("/v1/users/me", token=token).status_code != 200:
        time.sleep(0.2)
    acked = None
    while time.monotonic() < deadline:
        ws.send(json.dumps(frame))
        answer = _answer_to(ws, "outage-1")
        if answer["type"] == "ack":
            acked = answer
            break
        time.sleep(0.2)
    assert acked is not None, "the retry was never acknowledged"
    assert acked["message"]["seq"] == 2, acked
    bodies = [m["body"] for m in server.get(page, token=token).json()["messages"]]
    assert bodies == ["before", "during the outage"], bodies
    ws.close()
