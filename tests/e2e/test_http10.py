"""HTTP/1.0 clients: the connection ends with the response (RFC 9112 §9.3; Chatter declines
1.0's keep-alive, nginx in front of the split topology honours it). The server used to keep
every connection open, and a client that waits for the close to end a response (`ab`, simple
probes) hung."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from raw_http import check_http10_connection_handling  # noqa: E402


def test_http10_and_http11_connections_are_kept_or_closed_as_rfc_9112_asks(server):
    check_http10_connection_handling(server.base_url)
