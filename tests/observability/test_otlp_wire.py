"""The Swift OTLP encoder against the official schema.

`Tests/TelemetryTests/Fixtures/otlp_golden_request.hex` holds the bytes the Swift
encoder writes for a fixed span (the Swift test `GoldenEncodingTests` asserts it
still writes exactly these). Here the official opentelemetry-proto package must
decode them to the same span, and re-encode them to the same bytes — so a wrong
field number, wire type or enum value on the Swift side fails one of the two.
The receiver the multi-process tests use is checked on the same bytes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

import otlp_receiver as receiver_module

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURE = REPO_ROOT / "Tests" / "TelemetryTests" / "Fixtures" / "otlp_golden_request.hex"
START = 1_700_000_000_000_000_000


def golden_bytes() -> bytes:
    return bytes.fromhex("".join(FIXTURE.read_text().split()))


def test_official_decoder_reads_the_golden_request() -> None:
    spans = receiver_module.decode(golden_bytes())
    assert len(spans) == 1
    span = spans[0]
    assert span["trace_id"] == "0102030405060708090a0b0c0d0e0f10"
    assert span["span_id"] == "1112131415161718"
    assert span["parent_span_id"] == "2122232425262728"
    assert span["trace_state"] == "vendor=x"
    assert span["name"] == "POST /v1/chats/{id}/messages"
    assert span["kind"] == "server"
    assert span["start_time_unix_nano"] == START
    assert span["end_time_unix_nano"] == START + 1_500_000
    assert span["flags"] == 1
    assert span["attributes"] == {
        "chatter.ids": [1, -2],
        "chatter.ratio": 0.25,
        "chatter.retried": True,
        "chatter.tags": ["a", "b"],
        "http.request.method": "POST",
        "http.response.status_code": 201,
    }
    assert span["events"] == [{"name": "exception", "time_unix_nano": START + 1000, "attributes": {"exception.message": "boom"}}]
    assert span["links"] == [
        {"trace_id": "a1a2a3a4a5a6a7a8a9aaabacadaeafb0", "span_id": "b1b2b3b4b5b6b7b8", "attributes": {"link.kind": "follows"}}
    ]
    assert span["status"] == {"code": "error", "message": "boom"}
    assert span["service_name"] == "chatter-golden"
    assert span["resource"] == {
        "service.name": "chatter-golden",
        "service.instance.id": "host:1",
        "telemetry.sdk.name": "chatter",
        "telemetry.sdk.language": "swift",
    }
    assert span["scope"] == {"name": "chatter", "version": "1.0.0"}


def test_official_encoder_writes_the_same_bytes() -> None:
    request = trace_service_pb2.ExportTraceServiceRequest()
    request.ParseFromString(golden_bytes())
    # Nothing unknown to the schema was written, and the canonical encoding is ours.
    assert request.SerializeToString(deterministic=True) == golden_bytes()


def post(endpoint: str, body: bytes) -> int:
    request = urllib.request.Request(
        endpoint + "/v1/traces", data=body, method="POST", headers={"Content-Type": "application/x-protobuf"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
        return response.status


def test_receiver_fixture_stores_spans(otlp_receiver) -> None:
    assert post(otlp_receiver.endpoint, golden_bytes()) == 200
    spans = otlp_receiver.wait_for_spans(lambda spans: len(spans) == 1, timeout=5)
    assert [s["name"] for s in spans] == ["POST /v1/chats/{id}/messages"]


def test_receiver_as_a_process_writes_its_port_and_json_lines(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    out = tmp_path / "spans.jsonl"
    script = Path(receiver_module.__file__)
    process = subprocess.Popen(
        [sys.executable, str(script), "--port-file", str(port_file), "--out", str(out)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 10
        while not port_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        port = int(port_file.read_text())
        assert post(f"http://127.0.0.1:{port}", golden_bytes()) == 200
        deadline = time.monotonic() + 5
        while (not out.exists() or not out.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        lines = [json.loads(line) for line in out.read_text().splitlines()]
        assert [line["span_id"] for line in lines] == ["1112131415161718"]
        assert lines[0]["service_name"] == "chatter-golden"
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.returncode == 0
