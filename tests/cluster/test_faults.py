"""Fault injection under load on the split topology (scripts/cluster --split: nginx, 2 gateways,
auth, chat, 2 messaging and 2 notification processes, PostgreSQL, Redis, a Kafka mock cluster).

Each test runs `chatter load --check` through nginx — every user's socket reopened and synced
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
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cluster_topology import Cluster  # noqa: E402

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
