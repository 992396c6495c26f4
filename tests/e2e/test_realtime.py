"""The real binary's WebSocket side: a short `chatter load` run, and shutdown closing sockets."""

from __future__ import annotations

import json
import signal
import struct
import subprocess
import time

import websocket

from conftest import chatter_bin, chatter_env


def test_short_load_run_loses_nothing(server):
    """`chatter load` drives real users over HTTP + WebSocket; the verdict is by counts, not timings."""
    result = subprocess.run(
        [str(chatter_bin()), "load", "--url", server.base_url, "--users", "12", "--groups", "3",
         "--rate", "150", "--duration", "2", "--drain", "10", "--no-progress",
         "--server-pid", str(server.proc.pid)],
        capture_output=True, text=True, timeout=120, env=chatter_env())
    report = result.stdout
    assert result.returncode == 0, f"load failed:\n{report}\n{result.stderr}"
    lines = {line.split()[0]: line for line in report.splitlines() if line.strip()}
    assert lines["lost"].split()[-1] == "0", report
    assert lines["duplicated"].split()[-1] == "0", report
    assert lines["reordered"].split()[-1] == "0", report
    sent, acked = lines["sent"].split()[3], lines["sent"].split()[5]
    assert int(sent) > 0 and sent == acked, report
    assert "PASS" in lines["verdict"], report


def test_shutdown_closes_sockets_with_going_away(server):
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
    noisy = [line for line in server.logs().splitlines() if " error " in line or " critical " in line]
    assert not noisy, "shutdown logged errors:\n" + "\n".join(noisy)
