"""Log hygiene, checked over everything the end-to-end suite did (this file runs last: pytest
takes files in name order). Every line a server wrote is one JSON object with the ECS fields
Filebeat ships, and no password, token or message body the suite sent or received appears in
any log (conftest records them from every HTTP and WebSocket exchange)."""

from __future__ import annotations

import json

import pytest

from conftest import LOG_FILES, SECRETS

REQUIRED = ("@timestamp", "log.level", "message", "service.name", "log.logger")
LEVELS = {"trace", "debug", "info", "notice", "warning", "error", "critical"}


def _log_lines():
    for path in LOG_FILES:
        if not path.exists():
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if line.startswith("=== "):  # conftest's marker before each start
                continue
            yield path, number, line


def test_every_log_line_is_ecs_json():
    lines = list(_log_lines())
    if not lines:
        pytest.skip("no server logs: run with the rest of the end-to-end suite")
    bad = []
    for path, number, line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            bad.append(f"{path.name}:{number}: not JSON: {line[:200]}")
            continue
        missing = [key for key in REQUIRED if not isinstance(entry.get(key), str)]
        if missing or entry.get("log.level") not in LEVELS:
            bad.append(f"{path.name}:{number}: missing {missing} or bad level: {line[:200]}")
    assert not bad, "\n".join(bad[:20])
    # The access log has what operators search by.
    requests_logged = [json.loads(line) for _, _, line in lines if '"message":"request"' in line]
    assert requests_logged, "no access-log lines"
    assert all("http.request.id" in e and "http.route" in e and "http.response.status_code" in e for e in requests_logged)


def test_no_secret_or_message_body_reaches_a_log():
    lines = list(_log_lines())
    if not lines or len(SECRETS) < 10:
        pytest.skip("too little traffic recorded: run with the rest of the end-to-end suite")
    leaks = []
    for path, number, line in lines:
        for secret in SECRETS:
            if secret in line:
                leaks.append(f"{path.name}:{number}: contains {secret[:12]}…: {line[:200]}")
    assert not leaks, "\n".join(leaks[:20])
    print(f"checked {len(lines)} log lines against {len(SECRETS)} secrets")
