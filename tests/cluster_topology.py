"""scripts/cluster as a test fixture, shared by tests/cluster and tests/observability: the local
production topology (PostgreSQL, Redis, a Kafka mock cluster, Chatter instances, nginx) in a
process group of its own, read from its banner and stopped with SIGTERM (the script stops what
it started, by PID).

With CHATTER_BIN set (scripts/test sets it) the script uses that binary; otherwise it builds one."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 120 if os.environ.get("CHATTER_BIN") else 900  # without a binary, the script builds one


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, env: dict[str, str] | None = None, split: bool = False):
        """`split`: every role as processes of its own behind gateways (scripts/cluster --split)."""
        self.port = free_port()
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [str(REPO / "scripts" / "cluster"), "--port", str(self.port)] + (["--split"] if split else []),
            cwd=REPO, env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self.ready.wait(START_TIMEOUT_S) or self.proc.poll() is not None:
            self.stop()
            raise RuntimeError("cluster did not start:\n" + "\n".join(self.lines[-40:]))
        text = "\n".join(self.lines)
        # host:port of each instance (Prometheus targets), and the same as base URLs.
        self.addresses = [f"127.0.0.1:{port}" for port in re.findall(r"instance \d+ ready on 127\.0\.0\.1:(\d+)", text)]
        self.instances = [f"http://{address}" for address in self.addresses]
        # With split: role -> base URLs of its instances (the gateways are `instances`).
        self.roles: dict[str, list[str]] = {}
        for role, port in re.findall(r"\b(auth|chat|messaging|notification)-\d+ ready on 127\.0\.0\.1:(\d+)", text):
            self.roles.setdefault(role, []).append(f"http://127.0.0.1:{port}")
        services = re.search(r"PostgreSQL pid (\d+), Kafka pid (\d+)", text)
        self.postgres_pid, self.kafka_pid = (int(services.group(1)), int(services.group(2))) if services else (None, None)
        self.admin_token = re.search(r"Admin token\s+(\S+)", text).group(1)
        self.binary = self._banner("Load")
        self.logs_dir = self._banner("Logs")
        self.url = f"http://127.0.0.1:{self.port}"

    def pid(self, name: str) -> int:
        """The current pid of a Chatter process (`gateway-1`, `messaging-2`, `instance-1`): the
        script starts a process that died again and says so; the latest start counts."""
        found = [int(m.group(1)) for line in list(self.lines)
                 for m in [re.search(rf"\b{re.escape(name)} ready on \S+ \(pid (\d+)", line)] if m]
        if not found:
            raise KeyError(name)
        return found[-1]

    def current_postgres_pid(self) -> int:
        restarted = [int(m.group(1)) for line in list(self.lines) for m in [re.search(r"PostgreSQL restarted \(pid (\d+)\)", line)] if m]
        return restarted[-1] if restarted else self.postgres_pid

    def _banner(self, label: str) -> str:
        """The first word after `label` on the banner line that starts with it."""
        return next(line.split()[1] for line in self.lines if line.strip().startswith(label))

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if "Chatter cluster is up" in line:
                time.sleep(0.2)  # the rest of the banner follows at once
                self.ready.set()
        self.ready.set()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
