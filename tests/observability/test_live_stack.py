"""A real Prometheus against the local production topology (scripts/cluster: PostgreSQL, Redis,
Kafka mock cluster, two Chatter instances, nginx): traffic through nginx (a `chatter load` run,
a burst of failed logins into 429, WebSockets opened and closed), then

- each instance's /metrics passes `promtool check metrics` and serves the catalogue of
  docs/operations.md with the catalogue's types; nginx refuses /metrics;
- Prometheus (loading deploy/prometheus/rules) scrapes both instances every second, and every
  rule evaluates without error;
- every expression of every dashboard (variables filled in as Grafana would) and every rule
  runs, and every dashboard expression returns data;
- the instances export their spans over OTLP/HTTP to a receiver in this test (the official
  opentelemetry-proto decodes them): one send is one trace that runs from the HTTP request
  on one instance through the PostgreSQL transaction, the Kafka publish and the consumers to
  the WebSocket fan-out on both instances.

Set CHATTER_BIN to use a built binary (scripts/test does); otherwise scripts/cluster builds."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import requests
import websocket
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cluster_topology import Cluster, free_port  # noqa: E402  (shared with tests/cluster)
from otlp_receiver import OTLPReceiver
from deploy_files import PROMETHEUS, RULE_FILES, catalogue, dashboard_exprs, rules, variable_selectors

# Dashboard expressions allowed to return nothing (expr -> the reason: a situation this test
# cannot create in two minutes). Empty today: every panel has data after the traffic below,
# because panels that would be empty on a healthy system (5xx, firing alerts, instances down)
# fall back to 0 with `or`. Keep it that way.
ALLOWED_EMPTY: dict[str, str] = {}


class Prometheus:
    """/usr/bin/prometheus on a free loopback port with a config derived from
    deploy/prometheus/prometheus.yml: the same job and rule files, the instances as static
    targets, scraped and evaluated every second."""

    def __init__(self, targets: list[str]):
        self.dir = Path(tempfile.mkdtemp(prefix="chatter-prometheus-"))
        config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
        config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
        config["rule_files"] = [str(path) for path in RULE_FILES]
        (job,) = config["scrape_configs"]
        del job["file_sd_configs"]
        job["static_configs"] = [{"targets": targets}]
        (self.dir / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = open(self.dir / "prometheus.log", "w")
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={self.dir / 'prometheus.yml'}", f"--storage.tsdb.path={self.dir / 'data'}",
             f"--web.listen-address={self.url.removeprefix('http://')}", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT)

    def get(self, path: str, **params) -> dict:
        r = requests.get(self.url + path, params=params, timeout=10)
        body = r.json()
        assert r.status_code == 200 and body["status"] == "success", f"{path} {params}: {r.status_code} {r.text}"
        return body["data"]

    def query(self, expr: str) -> list:
        return self.get("/api/v1/query", query=expr)["result"]

    def output(self) -> str:
        self.log.flush()
        return (self.dir / "prometheus.log").read_text()[-4000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_until(condition, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def register(base: str) -> dict:
    r = requests.post(base + "/v1/auth/register", json={"username": "u" + uuid.uuid4().hex[:12], "password": "correct-horse-1"},
                      timeout=15)
    assert r.status_code == 201, r.text
    return r.json()


def drive_traffic(cluster: Cluster):
    # Messages over HTTP and WebSockets between 20 users in 4 groups, every delivery checked.
    result = subprocess.run(
        [cluster.binary, "load", "--url", cluster.url, "--users", "20", "--groups", "4", "--rate", "100", "--duration", "5",
         "--drain", "10", "--no-progress"], capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    # 429s: `login-per-account` (docs/rate-limits.md) allows 10 attempts per account, then one
    # every 10 s. Fifteen wrong passwords for one name, through nginx.
    name = "guess" + uuid.uuid4().hex[:8]
    codes = [requests.post(cluster.url + "/v1/auth/login", json={"username": name, "password": "wrong-password-1"},
                           timeout=10).status_code for _ in range(15)]
    assert 429 in codes and set(codes) <= {401, 429}, codes
    # Sockets opened and closed by the client, one on each instance.
    for instance in cluster.addresses:
        session = register("http://" + instance)
        ws = websocket.create_connection(f"ws://{instance}/v1/ws", timeout=15,
                                         header=[f"Authorization: Bearer {session['access_token']}"])
        assert json.loads(ws.recv())["type"] == "ready"
        ws.close()


@pytest.fixture(scope="module")
def stack():
    assert shutil.which("prometheus") and shutil.which("promtool"), "needs the Debian package `prometheus`"
    receiver = OTLPReceiver().start()
    # Every instance traces every request and exports at once-a-second batches.
    cluster = Cluster(env={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_TRACES_SAMPLER": "always_on",
                           "OTEL_BSP_SCHEDULE_DELAY": "200"})
    prometheus = None
    try:
        assert len(cluster.instances) == 2, cluster.lines
        prometheus = Prometheus(cluster.addresses)
        try:
            wait_until(lambda: prometheus.proc.poll() is None and _targets_up(prometheus) == 2, 30,
                       "both instances scraped as up")
        except AssertionError as error:
            raise AssertionError(f"{error}: {_target_errors(prometheus)}\n{prometheus.output()}") from None
        drive_traffic(cluster)
        # A few scrapes and rule evaluations after the traffic (both every second).
        time.sleep(5)
        assert prometheus.proc.poll() is None, prometheus.output()
        yield cluster, prometheus, receiver
    finally:
        if prometheus is not None:
            prometheus.stop()
        cluster.stop()
        receiver.stop()


def _target_errors(prometheus: Prometheus) -> list:
    try:
        return [(t["scrapeUrl"], t["health"], t["lastError"]) for t in prometheus.get("/api/v1/targets")["activeTargets"]]
    except (requests.ConnectionError, AssertionError) as error:
        return [repr(error)]


def _targets_up(prometheus: Prometheus) -> int:
    try:
        targets = prometheus.get("/api/v1/targets")["activeTargets"]
    except (requests.ConnectionError, AssertionError):
        return 0
    return sum(1 for target in targets if target["labels"]["job"] == "chatter" and target["health"] == "up")


def test_metrics_pass_promtool_and_match_the_catalogue(stack):
    cluster, _, _ = stack
    known = catalogue()
    for instance in cluster.addresses:
        r = requests.get(f"http://{instance}/metrics", timeout=10)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain"), r.headers
        lint = subprocess.run(["promtool", "check", "metrics"], input=r.text, capture_output=True, text=True, timeout=30)
        assert lint.returncode == 0 and not lint.stdout.strip() and not lint.stderr.strip(), lint.stdout + lint.stderr
        types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", r.text, re.M))
        for name, kind in known.items():
            assert types.get(name) == kind, f"{instance}: {name} is {types.get(name)} on /metrics, {kind} in the catalogue"


def test_nginx_does_not_serve_metrics(stack):
    cluster, _, _ = stack
    assert requests.get(cluster.url + "/metrics", timeout=10).status_code == 404


def test_every_rule_evaluates_without_error(stack):
    _, prometheus, _ = stack
    groups = prometheus.get("/api/v1/rules")["groups"]
    loaded = [rule for group in groups for rule in group["rules"]]
    assert len(loaded) == len(rules())
    for rule in loaded:
        assert rule["health"] == "ok" and rule.get("lastError", "") == "", rule
        assert rule["lastEvaluation"] != "0001-01-01T00:00:00Z", rule


def test_every_rule_expr_runs(stack):
    _, prometheus, _ = stack
    for rule in rules():
        prometheus.query(rule["expr"])  # status success, or it raises


def test_every_dashboard_expr_returns_data(stack):
    _, prometheus, _ = stack
    empty = []
    for dashboard, title, expr in dashboard_exprs():
        if not prometheus.query(expr) and expr not in ALLOWED_EMPTY:
            empty.append(f"{dashboard} / {title}: {expr}")
    for dashboard, variable, selector in variable_selectors():
        if not prometheus.query(selector):
            empty.append(f"{dashboard} / variable {variable}: {selector}")
    assert not empty, "no data for:\n" + "\n".join(empty)


def test_no_chatter_alert_fires_on_a_healthy_cluster(stack):
    _, prometheus, _ = stack
    firing = [alert for alert in prometheus.get("/api/v1/alerts")["alerts"]
              if alert["labels"]["alertname"].startswith("Chatter") and alert["state"] == "firing"]
    assert not firing, firing


def test_one_send_is_one_trace_across_both_processes(stack):
    cluster, _, receiver = stack
    first, second = cluster.addresses
    alice = register("http://" + first)
    bob = register("http://" + second)
    r = requests.post(f"http://{first}/v1/chats", json={"type": "group", "title": "traced", "member_ids": [bob["user"]["id"]]},
                      headers={"Authorization": f"Bearer {alice['access_token']}"}, timeout=15)
    assert r.status_code == 201, r.text
    chat_id = r.json()["id"]
    # Bob listens on the second instance, Alice on the first: both fan out the event.
    sockets = []
    for instance, session in ((second, bob), (first, alice)):
        ws = websocket.create_connection(f"ws://{instance}/v1/ws", timeout=15,
                                         header=[f"Authorization: Bearer {session['access_token']}"])
        assert json.loads(ws.recv())["type"] == "ready"
        # A first frame ends the socket's hold-back (live events wait for a client's first
        # frame, normally its sync): the fan-out below then queues onto both sockets at once.
        ws.send(json.dumps({"type": "ping"}))
        while json.loads(ws.recv())["type"] != "pong":  # presence may come first
            pass
        sockets.append(ws)
    # The client starts the trace, so the test knows its id.
    trace_id, client_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    r = requests.post(f"http://{first}/v1/chats/{chat_id}/messages", json={"body": "follow me", "client_msg_id": uuid.uuid4().hex},
                      headers={"Authorization": f"Bearer {alice['access_token']}", "traceparent": f"00-{trace_id}-{client_span}-01"},
                      timeout=15)
    assert r.status_code == 201, r.text
    for ws in sockets:
        while True:
            frame = json.loads(ws.recv())
            if frame.get("type") == "event" and frame["event"]["kind"] == "message.created":
                break
        ws.close()

    def complete(spans):
        traced = [s for s in spans if s["trace_id"] == trace_id]
        consumers = {s["resource"].get("service.instance.id") for s in traced if s["kind"] == "consumer"}
        delivers = [s for s in traced if s["name"] == "websocket deliver"]
        return len(consumers) >= 2 and len(delivers) >= 2

    spans = [s for s in receiver.wait_for_spans(complete, timeout=20) if s["trace_id"] == trace_id]
    by_id = {s["span_id"]: s for s in spans}
    (server,) = [s for s in spans if s["kind"] == "server"]
    assert server["parent_span_id"] == client_span and server["attributes"].get("http.route") == "/v1/chats/{chat_id}/messages", server
    (transaction,) = [s for s in spans if s["kind"] == "client" and s["attributes"].get("db.system") == "postgresql"]
    assert transaction["parent_span_id"] == server["span_id"], transaction
    (publish,) = [s for s in spans if s["kind"] == "producer"]
    assert publish["attributes"].get("messaging.system") == "kafka"
    # The outbox row carried the transaction's context to whichever instance relayed it.
    assert publish["parent_span_id"] == transaction["span_id"], publish
    consumers = [s for s in spans if s["kind"] == "consumer"]
    assert all(c["parent_span_id"] == publish["span_id"] for c in consumers), consumers
    delivers = [s for s in spans if s["name"] == "websocket deliver"]
    assert all(by_id[d["parent_span_id"]]["kind"] == "consumer" for d in delivers), delivers
    assert sum(d["attributes"].get("chatter.sockets.queued", 0) for d in delivers) >= 2, delivers
    processes = {s["resource"].get("service.instance.id") for s in spans}
    assert len(processes) >= 2 and all(s["service_name"] == "chatter" for s in spans), processes
    # Spans end after they start, and a child never starts before its parent.
    for span in spans:
        assert span["end_time_unix_nano"] >= span["start_time_unix_nano"] > 0, span
        parent = by_id.get(span["parent_span_id"])
        if parent is not None:
            assert span["start_time_unix_nano"] >= parent["start_time_unix_nano"] - 5_000_000, (parent, span)


def test_log_lines_of_traced_requests_carry_the_trace_id(stack):
    cluster, _, _ = stack
    trace_id = uuid.uuid4().hex
    r = requests.get(f"http://{cluster.addresses[0]}/v1/users/me", timeout=15,
                     headers={"traceparent": f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"})
    assert r.status_code == 401

    def logged():
        for path in Path(cluster.logs_dir).glob("instance-*.log"):
            for line in path.read_text(errors="replace").splitlines():
                if trace_id in line:
                    return json.loads(line)
        return None

    wait_until(lambda: logged() is not None, 10, "a log line with the trace id")
    entry = logged()
    assert entry["trace.id"] == trace_id and len(entry["span.id"]) == 16 and entry["message"] == "request", entry
