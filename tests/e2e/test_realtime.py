"""The real binary's WebSocket side: a short `chatter load` run, and shutdown closing sockets."""

from __future__ import annotations

import json
import signal
import struct
import subprocess
import time

import pytest
import websocket

from conftest import chatter_bin, chatter_env


def test_short_load_run_loses_nothing(server):
    """`chatter load` drives real users over HTTP + WebSocket; the verdict is by counts, not timings."""
    result = subprocess.run(
        [str(chatter_bin()), "load", "--url", server.base_url, "--users", "12", "--groups", "3",
         "--rate", "150", "--duration", "2", "--drain", "10", "--no-progress"]
        + (["--server-pid", str(server.proc.pid)] if server.proc else []),
        capture_output=True, text=True, timeout=120, env=chatter_env())
    report = result.stdout
    assert result.returncode == 0, f"load failed:\n{report}\n{result.stderr}"
    lines = {line.split()[0]: line for line in report.splitlines() if line.strip()}
    assert lines["lost"].split()[-1] == "0", report
    assert lines["unseen"].split()[-1] == "0", report
    assert lines["duplicated"].split()[-1] == "0", report
    assert lines["reordered"].split()[-1] == "0", report
    sent, acked = lines["sent"].split()[3], lines["sent"].split()[5]
    assert int(sent) > 0 and sent == acked, report
    # The pacing sends everything that comes due, catching up after any stall, so the count is
    # the rate times the duration whatever the machine's load (one more when the last send's
    # time, rounded down to whole nanoseconds, falls just inside the run).
    assert 300 <= int(sent) <= 301, report
    assert "PASS" in lines["verdict"], report


def test_shutdown_closes_sockets_with_going_away(server):
    if server.proc is None:
        pytest.skip("stops its server; the split topology is shared by the session")
    user = server.register()
    ws = websocket.create_connection(
        server.base_url.replace("http://", "ws://") + "/v1/ws",
        header=[f"Authorization: Bearer {user['access_token']}"], timeout=10)
    ready = json.loads(ws.recv())
    assert ready["type"] == "ready"
    server.proc.send_signal(signal.SIGTERM)
    opcode, payload = None, b""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        frame = ws.recv_data_frame(control_frame=True)
        opcode, payload = frame[0], frame[1].data
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            break
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    code = struct.unpack("!H", payload[:2])[0]
    assert code == 1001, f"close code {code}"
    assert server.stop() == 0
    noisy = [line for line in server.logs().splitlines()
             if not line.startswith("=== ") and json.loads(line)["log.level"] in ("error", "critical")]
    assert not noisy, "shutdown logged errors:\n" + "\n".join(noisy)


def test_heartbeat_keeps_answering_clients_and_drops_silent_ones(launch, monkeypatch):
    """One heartbeat pings every socket; a peer that never answers (it stopped reading, like a
    phone that lost its network) is dropped after two intervals, one that answers stays."""
    monkeypatch.setenv("CHATTER_WS_PING_INTERVAL_MS", "300")
    server = launch()
    user = server.register()
    url = server.base_url.replace("http://", "ws://") + "/v1/ws"
    header = [f"Authorization: Bearer {user['access_token']}"]
    alive = websocket.create_connection(url, header=header, timeout=10)
    silent = websocket.create_connection(url, header=header, timeout=10)
    assert json.loads(alive.recv())["type"] == "ready"
    assert json.loads(silent.recv())["type"] == "ready"
    # `alive` reads for 2.5 s; websocket-client answers each ping with a pong as it reads.
    pings = 0
    deadline = time.monotonic() + 2.5
    alive.settimeout(0.5)
    while time.monotonic() < deadline:
        try:
            opcode, frame = alive.recv_data_frame(control_frame=True)
        except websocket.WebSocketTimeoutException:
            continue
        if opcode == websocket.ABNF.OPCODE_PING:
            pings += 1
            alive.pong(frame.data)
    assert pings >= 2, f"only {pings} pings in 2.5 s at a 300 ms interval"
    alive.settimeout(10)
    alive.send(json.dumps({"type": "ping"}))
    while True:
        opcode, frame = alive.recv_data_frame(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_TEXT:
            assert json.loads(frame.data)["type"] == "pong"
            break
    # `silent` never read, so never answered: the server has closed its TCP connection.
    silent.settimeout(5)
    closed = False
    try:
        while True:
            opcode, frame = silent.recv_data_frame(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                closed = True
                break
    except (websocket.WebSocketConnectionClosedException, ConnectionResetError, OSError):
        closed = True
    assert closed, "a silent socket was not dropped"
    alive.close()


def _close_code(ws, seconds=10):
    """Reads until the server's close frame and returns its code."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        opcode, frame = ws.recv_data_frame(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return struct.unpack("!H", frame.data[:2])[0]
    raise AssertionError("no close frame")


def test_websocket_protocol_fragments_pings_and_bad_frames(server):
    """The server's own WebSocket handling: fragmented messages are joined, pings answered with
    their payload, and broken frames closed with the RFC 6455 codes."""
    user = server.register()
    url = server.base_url.replace("http://", "ws://") + "/v1/ws"
    header = [f"Authorization: Bearer {user['access_token']}"]
    ABNF = websocket.ABNF

    def connect():
        ws = websocket.create_connection(url, header=header, timeout=10)
        assert json.loads(ws.recv())["type"] == "ready"
        return ws

    ws = connect()
    ws.send_frame(ABNF.create_frame('{"type":', ABNF.OPCODE_TEXT, fin=0))
    ws.send_frame(ABNF.create_frame('"ping"}', ABNF.OPCODE_CONT, fin=1))
    ws.ping(b"are you there")
    seen_pong_frame, seen_json_pong = False, False
    while not (seen_pong_frame and seen_json_pong):
        opcode, frame = ws.recv_data_frame(control_frame=True)
        if opcode == ABNF.OPCODE_PONG:
            assert frame.data == b"are you there"
            seen_pong_frame = True
        elif opcode == ABNF.OPCODE_TEXT and json.loads(frame.data).get("type") == "pong":
            seen_json_pong = True
    # Text that is not UTF-8: 1007.
    ws.send_frame(ABNF.create_frame(b"\xc3\x28", ABNF.OPCODE_TEXT))
    assert _close_code(ws) == 1007
    ws.close()

    # A message whose fragments add up to more than 64 KiB: 1009.
    ws = connect()
    ws.send_frame(ABNF.create_frame("x" * 40_000, ABNF.OPCODE_TEXT, fin=0))
    ws.send_frame(ABNF.create_frame("x" * 40_000, ABNF.OPCODE_CONT, fin=1))
    assert _close_code(ws) == 1009
    ws.close()

    # A continuation with no message to continue: 1002.
    ws = connect()
    ws.send_frame(ABNF.create_frame("stray", ABNF.OPCODE_CONT, fin=1))
    assert _close_code(ws) == 1002
    ws.close()
