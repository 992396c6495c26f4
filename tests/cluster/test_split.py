"""The split topology (scripts/cluster --split: nginx, 2 gateways, auth, chat, 2 messaging and
2 notification processes, PostgreSQL, Redis, a Kafka mock cluster) from outside: the edge
(tokens checked at the gateway, internal APIs unreachable, role processes refusing callers
without the internal token), rate limits shared by both gateways and changed at run time, and
fault injection under load.

Each fault test runs `chatter load --check` through nginx — every user's socket reopened and synced
when it closes, every unacknowledged send sent again with its client_msg_id — and injects one
fault in the middle: kill -9 of a messaging, a notification or a gateway process (the script
starts it again, as an orchestrator would), a Kafka broker down for a few seconds, PostgreSQL
stopped (and started again by the script). The checker must report 0 lost, 0 unseen, 0
duplicated, 0 reordered and every send acknowledged, every time. Two rounds of each; loopback
only; bounded in time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cluster_topology import Cluster  # noqa: E402
from history_reads import check_newest_page_follows_every_change  # noqa: E402
from raw_http import check_http10_connection_handling  # noqa: E402

ROUNDS = [1, 2]
LOAD_SECONDS = 8
FAULT_AFTER_S = 2.5


@pytest.fixture(scope="module")
def cluster():
    c = Cluster(split=True)
    try:
        assert c.proc.poll() is None, "\n".join(c.lines[-40:])
        assert len(c.instances) == 2 and len(c.roles.get("messaging", [])) == 2 and len(c.roles.get("notification", [])) == 2, c.lines
        yield c
    finally:
        c.stop()


def register(base: str, username: str | None = None, password: str = "correct-horse-1") -> dict:
    r = requests.post(base + "/v1/auth/register", json={"username": username or "u" + uuid.uuid4().hex[:12], "password": password},
                      timeout=15)
    assert r.status_code == 201, r.text
    return r.json()


def bearer(session: dict) -> dict:
    return {"Authorization": f"Bearer {session['access_token']}"}


def test_gateways_keep_or_close_http10_connections_as_rfc_9112_asks(cluster):
    """Each gateway on its own, not through nginx, which answers HTTP/1.0 clients itself."""
    for gateway in cluster.instances:
        check_http10_connection_handling(gateway)


def test_the_edge_checks_tokens_and_hides_internal_apis(cluster):
    alice = register(cluster.url)
    assert requests.get(cluster.url + "/v1/users/me", headers=bearer(alice), timeout=10).status_code == 200
    # A forged token (right shape, wrong signature) stops at the gateway.
    header, payload, _ = alice["access_token"].split(".")
    forged = {"Authorization": f"Bearer {header}.{payload}.{'A' * 86}"}
    for gateway in cluster.instances:
        r = requests.get(gateway + "/v1/chats", headers=forged, timeout=10)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized", r.text
    # The roles' internal APIs are not reachable through nginx or a gateway...
    for base in [cluster.url] + cluster.instances:
        r = requests.post(base + "/internal/v1/users/existing", json={"ids": [alice["user"]["id"]]}, timeout=10)
        assert r.status_code == 404, r.text
    # ...and a role process refuses callers without the deployment's internal token.
    r = requests.post(cluster.roles["auth"][0] + "/internal/v1/users/existing", json={"ids": [alice["user"]["id"]]},
                      headers={"X-Chatter-Internal-Token": "not-the-deployment-token"}, timeout=10)
    assert r.status_code == 403, r.text
    # Every role checks tokens itself too (JWKS from auth): straight at a messaging instance.
    assert requests.get(cluster.roles["messaging"][0] + "/v1/chats/x/messages", headers=forged, timeout=10).status_code == 401


def test_a_change_on_one_messaging_process_is_in_the_next_page_the_other_serves(cluster):
    """Straight at the two messaging processes, each holding pages in memory (Redis versions)."""
    check_newest_page_follows_every_change(cluster.roles["messaging"], bearer(register(cluster.url)), cluster.url)


def test_one_rate_limit_budget_for_both_gateways_changed_at_run_time(cluster):
    first, second = cluster.instances
    admin = {"Authorization": f"Bearer {cluster.admin_token}"}
    current = requests.get(first + "/admin/v1/rate-limits", headers=admin, timeout=10).json()
    rule = f"me-{uuid.uuid4().hex[:6]}"
    changed = {"rules": current["rules"] + [{"name": rule, "route": "/v1/users/me", "key": "user", "capacity": 4,
                                             "refill_per_second": 0.01}]}
    r = requests.put(first + "/admin/v1/rate-limits", json=changed, headers=admin, timeout=10)
    assert r.status_code == 200, r.text
    # The change reaches the other gateway within a second.
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline and requests.get(second + "/admin/v1/rate-limits", headers=admin, timeout=10).json() != r.json():
        time.sleep(0.02)
    assert requests.get(second + "/admin/v1/rate-limits", headers=admin, timeout=10).json() == r.json()
    try:
        user = register(cluster.url)
        # Four requests in all, alternating gateways, then both refuse: one shared budget.
        statuses = [requests.get((first, second)[i % 2] + "/v1/users/me", headers=bearer(user), timeout=10).status_code
                    for i in range(4)]
        assert statuses == [200, 200, 200, 200], statuses
        for gateway in (first, second):
            refused = requests.get(gateway + "/v1/users/me", headers=bearer(user), timeout=10)
            assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited", refused.text
            assert int(refused.headers["Retry-After"]) >= 1
            assert refused.headers["RateLimit-Limit"] == "4" and refused.headers["RateLimit-Remaining"] == "0"
            assert int(refused.headers["RateLimit-Reset"]) >= 1
    finally:
        requests.put(first + "/admin/v1/rate-limits", json=current, headers=admin, timeout=10)


def test_login_guessing_is_capped_per_account_across_gateways(cluster):
    victim = register(cluster.url, password="correct-horse-1")
    username = victim["user"]["username"]
    statuses = []
    for i in range(12):
        gateway = cluster.instances[i % 2]
        statuses.append(requests.post(gateway + "/v1/auth/login", json={"username": username, "password": f"guess-{i}"},
                                      timeout=15).status_code)
    # The built-in rule: ten attempts per account, from anywhere, then 429.
    assert statuses[:10] == [401] * 10, statuses
    assert statuses[10:] == [429, 429], statuses


def run_with_fault(cluster: Cluster, inject) -> str:
    load = subprocess.Popen(
        [cluster.binary, "load", "--url", cluster.url, "--users", "16", "--groups", "4", "--rate", "60",
         "--duration", str(LOAD_SECONDS), "--drain", "45", "--no-progress", "--check"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(FAULT_AFTER_S)
        inject()
        report, _ = load.communicate(timeout=150)
    finally:
        if load.poll() is None:
            load.kill()
            load.wait()
    return report


def assert_nothing_lost(report: str):
    lines = {line.split()[0]: line.split() for line in report.splitlines() if line.strip()}
    assert "verdict" in lines, report
    for name in ("lost", "unseen", "duplicated", "reordered"):
        assert lines[name][-1] == "0", f"{name}:\n{report}"
    sent, acked = lines["sent"][3], lines["sent"][5]
    assert int(sent) > 0 and sent == acked, report
    assert lines["verdict"][-1] == "PASS", report


def kill9(cluster: Cluster, name: str):
    def inject():
        os.kill(cluster.pid(name), signal.SIGKILL)
    return inject


@pytest.mark.parametrize("round_", ROUNDS)
def test_kill_a_messaging_instance(cluster, round_):
    assert_nothing_lost(run_with_fault(cluster, kill9(cluster, f"messaging-{round_}")))


@pytest.mark.parametrize("round_", ROUNDS)
def test_kill_a_notification_instance_clients_reconnect_elsewhere_and_sync(cluster, round_):
    report = run_with_fault(cluster, kill9(cluster, f"notification-{round_}"))
    assert_nothing_lost(report)
    reconnects = next(line.split()[-1] for line in report.splitlines() if line.startswith("resent/reconnects"))
    assert int(reconnects) > 0, "the sockets on the killed instance reconnected:\n" + report


@pytest.mark.parametrize("round_", ROUNDS)
def test_kill_a_gateway(cluster, round_):
    assert_nothing_lost(run_with_fault(cluster, kill9(cluster, f"gateway-{round_}")))


@pytest.mark.parametrize("round_", ROUNDS)
def test_a_kafka_broker_down_and_up(cluster, round_):
    def inject():
        os.kill(cluster.kafka_pid, signal.SIGUSR1)
        time.sleep(3)
        os.kill(cluster.kafka_pid, signal.SIGUSR2)
    assert_nothing_lost(run_with_fault(cluster, inject))


@pytest.mark.parametrize("round_", ROUNDS)
def test_postgres_restarted(cluster, round_):
    def inject():
        # SIGINT is PostgreSQL's fast shutdown; the script starts it again on the same data.
        os.kill(cluster.current_postgres_pid(), signal.SIGINT)
    assert_nothing_lost(run_with_fault(cluster, inject))
