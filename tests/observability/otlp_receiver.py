"""A tiny OTLP/HTTP trace receiver for tests: a stand-in OpenTelemetry collector.

It listens on 127.0.0.1 (a free port unless one is given), accepts
`POST /v1/traces` bodies in the protobuf encoding (`application/x-protobuf`,
optionally gzip-compressed), decodes them with the official opentelemetry-proto
package and keeps every span as a plain dict (see `span_dicts`). It answers 200
with an empty `ExportTraceServiceResponse`.

Two ways to use it:

* from pytest: import the `otlp_receiver` fixture into a conftest (as
  tests/observability/conftest.py does, with this folder on sys.path) and take it
  as an argument; its `.endpoint` is the value for OTEL_EXPORTER_OTLP_ENDPOINT,
  `.spans` what arrived, `.wait_for_spans(predicate)` polls (bounded);
* as a process for multi-process tests:
  `python3 tests/observability/otlp_receiver.py --port-file F --out spans.jsonl`
  writes its port to F once it listens (and prints it), and appends one JSON line
  per span to the --out file. It stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import signal
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2

MAX_BODY_BYTES = 16 * 1024 * 1024

SPAN_KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
STATUS_CODES = {0: "unset", 1: "ok", 2: "error"}


def any_value(value: common_pb2.AnyValue) -> Any:
    """An OTLP AnyValue as the matching Python value."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(element) for element in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def attributes(key_values) -> dict[str, Any]:
    return {kv.key: any_value(kv.value) for kv in key_values}


def span_dicts(request: trace_service_pb2.ExportTraceServiceRequest) -> list[dict[str, Any]]:
    """Every span in the request, flattened with its resource and scope."""
    spans = []
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    {
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex(),
                        "trace_state": span.trace_state,
                        "name": span.name,
                        "kind": SPAN_KINDS.get(span.kind, str(span.kind)),
                        "start_time_unix_nano": span.start_time_unix_nano,
                        "end_time_unix_nano": span.end_time_unix_nano,
                        "attributes": attributes(span.attributes),
                        "events": [
                            {"name": e.name, "time_unix_nano": e.time_unix_nano, "attributes": attributes(e.attributes)}
                            for e in span.events
                        ],
                        "links": [
                            {"trace_id": l.trace_id.hex(), "span_id": l.span_id.hex(), "attributes": attributes(l.attributes)}
                            for l in span.links
                        ],
                        "status": {"code": STATUS_CODES.get(span.status.code, str(span.status.code)), "message": span.status.message},
                        "flags": span.flags,
                        "resource": resource,
                        "service_name": resource.get("service.name"),
                        "scope": {"name": scope_spans.scope.name, "version": scope_spans.scope.version},
                    }
                )
    return spans


def decode(body: bytes) -> list[dict[str, Any]]:
    request = trace_service_pb2.ExportTraceServiceRequest()
    request.ParseFromString(body)
    return span_dicts(request)


class OTLPReceiver:
    """The receiver in a background thread. `start()`, then read `.spans`; `stop()` at the end."""

    def __init__(
        self,
        port: int = 0,
        on_span: Callable[[dict[str, Any]], None] | None = None,
        tls_cert: str | None = None,
        tls_key: str | None = None,
    ):
        self._lock = threading.Lock()
        self._spans: list[dict[str, Any]] = []
        self._requests = 0
        self._on_span = on_span
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _answer(self, status: int, body: bytes = b"", content_type: str = "application/x-protobuf") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length < 0 or length > MAX_BODY_BYTES:
                    self._answer(413, b"too large", "text/plain")
                    self.close_connection = True
                    return
                body = self.rfile.read(length)
                if self.path.split("?")[0] != "/v1/traces":
                    self._answer(404, b"not found", "text/plain")
                    return
                if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/x-protobuf":
                    self._answer(415, b"expected application/x-protobuf", "text/plain")
                    return
                if (self.headers.get("Content-Encoding") or "").lower() == "gzip":
                    body = gzip.decompress(body)
                try:
                    spans = decode(body)
                except Exception as error:  # a malformed body is the sender's bug: 400
                    self._answer(400, str(error).encode(), "text/plain")
                    return
                receiver._add(spans)
                self._answer(200, trace_service_pb2.ExportTraceServiceResponse().SerializeToString())

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._tls = tls_cert is not None
        if tls_cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls_cert, tls_key)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="otlp-receiver", daemon=True)

    def _add(self, spans: list[dict[str, Any]]) -> None:
        with self._lock:
            self._requests += 1
            self._spans.extend(spans)
            if self._on_span:
                for span in spans:
                    self._on_span(span)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def endpoint(self) -> str:
        """The base URL, for OTEL_EXPORTER_OTLP_ENDPOINT (https with a certificate: the
        certificate must name 127.0.0.1, or use localhost instead)."""
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def spans(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._spans)

    @property
    def request_count(self) -> int:
        with self._lock:
            return self._requests

    def wait_for_spans(self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 15.0) -> list[dict[str, Any]]:
        """Polls until `predicate(spans)` holds (bounded by `timeout`); returns the spans either way."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            spans = self.spans
            if predicate(spans):
                return spans
            time.sleep(0.05)
        return self.spans

    def start(self) -> "OTLPReceiver":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


try:
    import pytest

    @pytest.fixture
    def otlp_receiver() -> Iterator[OTLPReceiver]:
        receiver = OTLPReceiver().start()
        try:
            yield receiver
        finally:
            receiver.stop()

except ImportError:  # usable as a script without pytest installed
    pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    parser.add_argument("--port-file", help="write the port here once listening")
    parser.add_argument("--out", help="append one JSON line per received span to this file")
    parser.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate (chain)")
    parser.add_argument("--tls-key", help="the private key of --tls-cert (if not in the same file)")
    args = parser.parse_args(argv)

    out = open(args.out, "a", buffering=1, encoding="utf-8") if args.out else None

    def write(span: dict[str, Any]) -> None:
        if out:
            out.write(json.dumps(span, sort_keys=True) + "\n")

    receiver = OTLPReceiver(port=args.port, on_span=write, tls_cert=args.tls_cert, tls_key=args.tls_key).start()
    if args.port_file:
        temporary = args.port_file + ".tmp"
        with open(temporary, "w", encoding="utf-8") as file:
            file.write(f"{receiver.port}\n")
        os.replace(temporary, args.port_file)  # readers never see a half-written file
    print(receiver.port, flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    receiver.stop()
    if out:
        out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
