"""The local production topology of scripts/cluster — PostgreSQL, Redis, a Kafka mock cluster,
two Chatter instances and nginx in front — driven from outside like a user would: through
nginx, and straight at each instance to prove that the instances act as one (a token from one
works on the other, a message sent to one reaches a socket on the other through Kafka, a rule
changed on one applies on the other), plus a `chatter load` run through nginx that must lose,
duplicate and reorder nothing.

Started once for the module by PID, stopped with SIGTERM (the script stops what it started)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
import websocket

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cluster_topology import Cluster  # noqa: E402  (shared with tests/observability)
from history_reads import check_newest_page_follows_every_change  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    c = Cluster()
    try:
        assert c.proc.poll() is None, "\n".join(c.lines[-40:])
        assert len(c.instances) == 2, c.lines
        yield c
    finally:
        c.stop()


def register(base: str) -> dict:
    r = requests.post(base + "/v1/auth/register", json={"username": "u" + uuid.uuid4().hex[:12], "password": "correct-horse-1"},
                      timeout=15)
    assert r.status_code == 201, r.text
    return r.json()


def auth(session: dict) -> dict:
    return {"Authorization": f"Bearer {session['access_token']}"}


def open_socket(base: str, session: dict) -> websocket.WebSocket:
    ws = websocket.create_connection(base.replace("http://", "ws://") + "/v1/ws",
                                     header=[f"Authorization: Bearer {session['access_token']}"], timeout=15)
    assert json.loads(ws.recv())["type"] == "ready"
    return ws


def created_seqs(ws: websocket.WebSocket, chat_id: str, count: int, timeout: float = 30) -> list[int]:
    seqs: list[int] = []
    deadline = time.monotonic() + timeout
    while len(seqs) < count and time.monotonic() < deadline:
        ws.settimeout(max(0.1, deadline - time.monotonic()))
        frame = json.loads(ws.recv())
        event = frame.get("event") or {}
        if frame.get("type") == "event" and event.get("kind") == "message.created" and event.get("chat_id") == chat_id:
            seqs.append(event["message"]["seq"])
    return seqs


def test_nginx_fronts_the_instances(cluster):
    r = requests.get(cluster.url + "/readyz", timeout=10)
    assert r.status_code == 200, r.text
    assert set(r.json()["checks"]) >= {"database", "redis", "eventlog"} and set(r.json()["checks"].values()) == {"ok"}, r.text
    assert r.headers.get("X-Request-Id")
    page = requests.get(cluster.url + "/", timeout=10)
    assert page.status_code == 200 and "Content-Security-Policy" in page.headers
    ws = open_socket(cluster.url, register(cluster.url))  # an upgrade through nginx
    ws.close()
    assert requests.get(cluster.url + "/v1/chats", timeout=10).status_code == 401


def test_the_instances_act_as_one(cluster):
    first, second = cluster.instances
    alice, bob = register(first), register(second)
    # One set of signing keys: a token from one instance works on the other.
    assert requests.get(second + "/v1/users/me", headers=auth(alice), timeout=10).status_code == 200
    r = requests.post(cluster.url + "/v1/chats", json={"type": "group", "title": "across", "member_ids": [bob["user"]["id"]]},
                      headers=auth(alice), timeout=15)
    assert r.status_code == 201, r.text
    chat_id = r.json()["id"]
    alice_ws, bob_ws = open_socket(first, alice), open_socket(second, bob)
    try:
        for i in range(30):
            target = first if i % 2 == 0 else second
            r = requests.post(f"{target}/v1/chats/{chat_id}/messages", json={"body": f"m{i}", "client_msg_id": f"c{i}"},
                              headers=auth(alice), timeout=15)
            assert r.status_code == 201, r.text
        # Sent through both instances, delivered on both through Kafka: once each, in order.
        assert created_seqs(bob_ws, chat_id, 30) == list(range(1, 31))
        assert created_seqs(alice_ws, chat_id, 30) == list(range(1, 31))
    finally:
        alice_ws.close()
        bob_ws.close()


def test_a_change_on_one_instance_is_in_the_next_page_the_other_serves(cluster):
    check_newest_page_follows_every_change(cluster.instances, auth(register(cluster.url)), cluster.url)


def test_a_rule_changed_on_one_instance_applies_on_the_other(cluster):
    first, second = cluster.instances
    admin = {"Authorization": f"Bearer {cluster.admin_token}"}
    current = requests.get(first + "/admin/v1/rate-limits", headers=admin, timeout=10).json()
    changed = {"rules": current["rules"] + [{"name": f"probe-{uuid.uuid4().hex[:6]}", "route": "/v1/probe", "key": "ip",
                                             "capacity": 5, "refill_per_second": 1}]}
    r = requests.put(first + "/admin/v1/rate-limits", json=changed, headers=admin, timeout=10)
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        if requests.get(second + "/admin/v1/rate-limits", headers=admin, timeout=10).json() == r.json():
            break
        time.sleep(0.02)
    assert requests.get(second + "/admin/v1/rate-limits", headers=admin, timeout=10).json() == r.json()


def test_load_through_nginx_loses_nothing(cluster):
    binary = next(line.split()[1] for line in cluster.lines if line.strip().startswith("Load"))
    result = subprocess.run(
        [binary, "load", "--url", cluster.url, "--users", "20", "--groups", "4", "--rate", "150", "--duration", "3",
         "--drain", "15", "--no-progress"], capture_output=True, text=True, timeout=180)
    report = result.stdout
    assert result.returncode == 0, f"{report}\n{result.stderr}"
    lines = {line.split()[0]: line for line in report.splitlines() if line.strip()}
    for key in ("lost", "unseen", "duplicated", "reordered"):
        assert lines[key].split()[-1] == "0", report
    assert "PASS" in lines["verdict"], report
