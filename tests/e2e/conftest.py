"""Fixtures for the Chatter end-to-end tests.

These tests drive the real `chatter` binary over HTTP. The binary is taken from
the env var CHATTER_BIN (default: <repo>/.build/debug/chatter). Every server a
test starts gets a fresh data dir under pytest's tmp_path, writes its logs to a
file there, and is stopped by PID (SIGTERM, then SIGKILL only if it hangs for
more than 10 s) when the test ends. The logs of every server a test started are
attached to the report of a failing test.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BIN = REPO_ROOT / ".build" / "debug" / "chatter"

READY_TIMEOUT_S = 30.0
STOP_GRACE_S = 10.0
HTTP_TIMEOUT_S = 15.0
TEST_TIMEOUT_S = float(os.environ.get("CHATTER_E2E_TEST_TIMEOUT", "90"))

_live_processes: list[subprocess.Popen] = []


def chatter_bin() -> Path:
    path = Path(os.environ.get("CHATTER_BIN", str(DEFAULT_BIN)))
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(f"chatter binary not found or not executable: {path} (set CHATTER_BIN)")
    return path


def chatter_env(data_dir: Path | None = None) -> dict[str, str]:
    """The environment for a `chatter` process. With CHATTER_E2E_DATABASE_URL set (the
    production-stack run of scripts/test), a process given a data dir gets a PostgreSQL
    database of its own for that dir in CHATTER_DATABASE_URL: a restart on the same dir finds
    its data again, and no two tests see each other's users."""
    env = dict(os.environ)
    env.setdefault("CHATTER_BCRYPT_COST", "10")
    base = os.environ.get("CHATTER_E2E_DATABASE_URL")
    if base and data_dir is not None:
        env["CHATTER_DATABASE_URL"] = _database_for(base, Path(data_dir))
    return env


_created_databases: set[str] = set()


def _psql(base: str, sql: str) -> subprocess.CompletedProcess:
    url = urlsplit(base)
    env = dict(os.environ, PGPASSWORD=unquote(url.password or ""))
    return subprocess.run(
        ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432),
         "-U", unquote(url.username or ""), "-d", url.path.lstrip("/") or "postgres", "-c", sql],
        env=env, capture_output=True, text=True, timeout=60)


def _database_for(base: str, data_dir: Path) -> str:
    name = "e2e_" + hashlib.sha1(str(data_dir.resolve()).encode()).hexdigest()[:20]
    if name not in _created_databases:
        result = _psql(base, f"CREATE DATABASE {name}")
        if result.returncode != 0 and "already exists" not in result.stderr:
            raise RuntimeError(f"cannot create database {name}: {result.stderr}")
        _created_databases.add(name)
    url = urlsplit(base)
    return urlunsplit(url._replace(path="/" + name))


def drop_test_databases() -> None:
    base = os.environ.get("CHATTER_E2E_DATABASE_URL")
    for name in sorted(_created_databases):
        _psql(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _created_databases.clear()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerStartError(RuntimeError):
    pass


class ChatterServer:
    """One running `chatter serve` process that this test suite started."""

    _ids = itertools.count(1)

    def __init__(self, data_dir: Path, log_dir: Path):
        self.data_dir = data_dir
        self.index = next(self._ids)
        self.log_path = log_dir / f"chatter-{self.index}.log"
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.returncode: int | None = None
        self.killed = False

    # -- lifecycle -----------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ChatterServer":
        last_error = None
        # A port picked by binding to :0 can in principle be taken before the
        # server binds it; retry a couple of times with a new one.
        for _attempt in range(3):
            self.port = free_port()
            try:
                self._spawn_and_wait()
                return self
            except ServerStartError as err:
                last_error = err
                if self.proc is not None and self.proc.poll() is None:
                    raise  # still running but never got healthy: a real failure
        raise last_error  # type: ignore[misc]

    def _spawn_and_wait(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            str(chatter_bin()), "serve",
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--data-dir", str(self.data_dir),
        ]
        with open(self.log_path, "ab") as log:
            log.write(f"=== {' '.join(cmd)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=chatter_env(self.data_dir),
                start_new_session=True,  # a terminal ^C must not reach it; we stop it ourselves
            )
        _live_processes.append(self.proc)
        self.returncode = None
        self.killed = False

        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                _live_processes.remove(self.proc)
                self.returncode = code
                raise ServerStartError(f"chatter exited with code {code} before becoming healthy")
            try:
                r = requests.get(self.base_url + "/readyz", timeout=1.0)
                if r.status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.stop()
        raise ServerStartError(f"chatter did not answer GET /readyz with 200 within {READY_TIMEOUT_S}s")

    def stop(self, sig: int = signal.SIGTERM, grace: float = STOP_GRACE_S) -> int | None:
        """Signal the process by PID and wait; SIGKILL only if it hangs > grace s.

        Returns the exit code (negative for death by signal, as in subprocess)."""
        proc = self.proc
        if proc is None:
            return self.returncode
        if proc.poll() is None:
            try:
                os.kill(proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.killed = True
                proc.kill()
                proc.wait(timeout=10)
        self.returncode = proc.returncode
        if proc in _live_processes:
            _live_processes.remove(proc)
        self.proc = None
        return self.returncode

    def logs(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError as err:
            return f"<could not read {self.log_path}: {err}>"

    # -- HTTP helpers ---------------------------------------------------------------

    def request(self, method: str, path: str, *, token: str | None = None,
                headers: dict | None = None, **kwargs) -> requests.Response:
        hdrs = dict(headers or {})
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        kwargs.setdefault("timeout", HTTP_TIMEOUT_S)
        return requests.request(method, self.base_url + path, headers=hdrs, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json_body=None, **kwargs) -> requests.Response:
        if json_body is not None:
            kwargs["data"] = json.dumps(json_body).encode()
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("Content-Type", "application/json")
            kwargs["headers"] = headers
        return self.request("POST", path, **kwargs)

    def register(self, username: str | None = None, password: str = "correct-horse-1",
                 display_name: str | None = None) -> dict:
        username = username or unique_username()
        body = {"username": username, "password": password}
        if display_name is not None:
            body["display_name"] = display_name
        r = self.post("/v1/auth/register", body)
        session = assert_session(r, 201, username)
        session["password"] = password
        return session


# -- helpers shared by the tests ------------------------------------------------------

def unique_username(prefix: str = "u") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def describe(r: requests.Response) -> str:
    """A compact request/response dump for assertion messages."""
    req = r.request
    body = req.body
    if isinstance(body, bytes):
        body = body[:300].decode(errors="replace") + ("..." if len(req.body) > 300 else "")
    elif isinstance(body, str) and len(body) > 300:
        body = body[:300] + "..."
    return (f"\n>>> {req.method} {req.url}\n>>> headers: {dict(req.headers)}\n>>> body: {body!r}"
            f"\n<<< {r.status_code} {dict(r.headers)}\n<<< {r.text[:1000]}")


def assert_error(r: requests.Response, status: int, code: str) -> dict:
    assert r.status_code == status, describe(r)
    assert r.headers.get("Content-Type", "").startswith("application/json"), describe(r)
    body = r.json()
    assert set(body) == {"error"}, describe(r)
    err = body["error"]
    assert isinstance(err, dict), describe(r)
    assert err.get("code") == code, describe(r)
    assert isinstance(err.get("message"), str) and err["message"], describe(r)
    assert r.headers.get("X-Request-Id"), describe(r)
    return err


TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def assert_timestamp(value) -> None:
    assert isinstance(value, str) and TIMESTAMP_RE.match(value), f"not an RFC 3339 UTC ms timestamp: {value!r}"


def assert_user(user: dict, username: str | None = None) -> None:
    assert isinstance(user, dict), user
    assert {"id", "username", "display_name", "created_at"} <= set(user), user
    assert isinstance(user["id"], str) and user["id"], user
    if username is not None:
        assert user["username"] == username, user
    assert_timestamp(user["created_at"])


def assert_session(r: requests.Response, status: int, username: str | None = None) -> dict:
    assert r.status_code == status, describe(r)
    assert r.headers.get("Content-Type", "").startswith("application/json"), describe(r)
    session = r.json()
    assert_user(session.get("user"), username)
    assert isinstance(session.get("access_token"), str) and session["access_token"].count(".") == 2, session
    assert isinstance(session.get("refresh_token"), str) and session["refresh_token"], session
    assert session.get("token_type") == "Bearer", session
    assert session.get("expires_in") == 900, session
    return session


def b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# -- fixtures -------------------------------------------------------------------------

# -- the split topology: the same suite through nginx, gateways and role processes ---------
#
# With CHATTER_E2E_TOPOLOGY=split (scripts/test sets it for one run), `server` is not a process
# of the test's own: it is scripts/cluster --split (nginx → 2 gateways → auth, chat, 2
# messaging, 2 notification processes on PostgreSQL, Redis and Kafka), started once for the
# session. Tests that start, restart or stop servers themselves (`launch`) are skipped there;
# they run in the two other runs.

SPLIT = os.environ.get("CHATTER_E2E_TOPOLOGY") == "split"
_ROLE_LOG = re.compile(r"^(gateway|auth|chat|messaging|notification)-\d+\.log$")


@pytest.fixture(scope="session")
def topology():
    if not SPLIT:
        yield None
        return
    import sys
    sys.path.insert(0, str(REPO_ROOT / "tests"))
    from cluster_topology import Cluster
    cluster = Cluster(split=True)
    try:
        # Log hygiene (test_zz_logs.py) covers every process of the topology.
        LOG_FILES.extend(sorted(p for p in Path(cluster.logs_dir).iterdir() if _ROLE_LOG.match(p.name)))
        yield cluster
    finally:
        cluster.stop()


class TopologyServer(ChatterServer):
    """The split topology seen as one server: its nginx URL. It is not this test's to stop."""

    def __init__(self, cluster, tmp_path: Path):
        super().__init__(tmp_path / "unused", tmp_path)
        self.cluster = cluster

    @property
    def base_url(self) -> str:
        return self.cluster.url

    def start(self) -> "TopologyServer":
        return self

    def stop(self, sig: int = signal.SIGTERM, grace: float = STOP_GRACE_S) -> int | None:
        pytest.skip("the split topology is shared by the session; this test stops its server")

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in LOG_FILES if p.exists())


@pytest.fixture
def launch(request, tmp_path, topology):
    """Factory: launch(data_dir=None) starts a server (fresh data dir unless one is given).

    Every server started through it is stopped at the end of the test."""
    if topology is not None:
        pytest.skip("starts servers of its own; covered by the embedded and production-stack runs")
    servers: list[ChatterServer] = []
    request.node._chatter_servers = servers

    def _launch(data_dir: Path | None = None) -> ChatterServer:
        if data_dir is None:
            data_dir = tmp_path / f"data-{len(servers) + 1}"
        server = ChatterServer(data_dir, tmp_path)
        servers.append(server)
        LOG_FILES.append(server.log_path)
        return server.start()

    yield _launch
    for server in servers:
        server.stop()


@pytest.fixture
def server(request, tmp_path, topology) -> ChatterServer:
    """A running server on a fresh data dir (or, in the split run, the topology's nginx)."""
    if topology is not None:
        return TopologyServer(topology, tmp_path)
    return request.getfixturevalue("launch")()


# -- log hygiene: what the suite sent or received that must never reach a log -----------
#
# Every JSON body sent or received over HTTP (requests) or WebSocket (websocket-client) is
# scanned for passwords, tokens and message bodies; test_zz_logs.py, which runs last, checks
# that none of them appears in any server log and that every log line is ECS-shaped JSON.

SECRETS: set[str] = set()
LOG_FILES: list[Path] = []
_SECRET_FIELDS = {"password", "current_password", "new_password", "token", "access_token", "refresh_token", "body"}
# Shorter values (a body like "hi") could match ordinary log text by chance.
_MIN_SECRET_LEN = 10


def remember_secrets(value) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _SECRET_FIELDS and isinstance(item, str):
                if len(item) >= _MIN_SECRET_LEN:
                    SECRETS.add(item)
            else:
                remember_secrets(item)
    elif isinstance(value, list):
        for item in value:
            remember_secrets(item)


def _remember_text(text) -> None:
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", "replace")
    if isinstance(text, str) and text[:1] in "{[":
        try:
            remember_secrets(json.loads(text))
        except ValueError:
            pass


_original_request = requests.Session.request


def _recording_request(self, method, url, *args, **kwargs):
    remember_secrets(kwargs.get("json"))
    _remember_text(kwargs.get("data"))
    auth = (kwargs.get("headers") or {}).get("Authorization", "")
    if auth.startswith("Bearer ") and len(auth) > 7 + _MIN_SECRET_LEN:
        SECRETS.add(auth[7:])
    response = _original_request(self, method, url, *args, **kwargs)
    if "json" in response.headers.get("Content-Type", ""):
        _remember_text(response.text)
    return response


requests.Session.request = _recording_request

try:
    import websocket as _websocket

    _original_ws_send = _websocket.WebSocket.send
    _original_ws_recv = _websocket.WebSocket.recv

    def _recording_ws_send(self, payload, *args, **kwargs):
        _remember_text(payload)
        return _original_ws_send(self, payload, *args, **kwargs)

    def _recording_ws_recv(self, *args, **kwargs):
        frame = _original_ws_recv(self, *args, **kwargs)
        _remember_text(frame)
        return frame

    _websocket.WebSocket.send = _recording_ws_send
    _websocket.WebSocket.recv = _recording_ws_recv
except ImportError:  # only the realtime tests need it
    pass


# -- hooks: logs on failure, per-test time bound, cleanup on exit ----------------------

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for server in getattr(item, "_chatter_servers", []):
            report.sections.append(
                (f"chatter #{server.index} log ({server.log_path})", server.logs()))


class E2ETimeout(Exception):
    pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    def _on_alarm(signum, frame):
        raise E2ETimeout(f"test exceeded {TEST_TIMEOUT_S}s")

    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, TEST_TIMEOUT_S)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def pytest_sessionfinish(session, exitstatus):
    # Safety net: nothing we started may outlive the run (only our own PIDs).
    for proc in list(_live_processes):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        _live_processes.remove(proc)
    # After the servers: their databases (the production-stack run).
    if os.environ.get("CHATTER_E2E_DATABASE_URL"):
        drop_test_databases()
