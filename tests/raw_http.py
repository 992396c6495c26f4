"""HTTP/1.x over a bare socket, for tests of what a client library hides: the protocol
version, Connection headers, and whether the server closes the connection."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

READ_TIMEOUT_S = 5.0


def connect(base_url: str) -> socket.socket:
    url = urlsplit(base_url)
    return socket.create_connection((url.hostname, url.port), timeout=READ_TIMEOUT_S)


def exchange(sock: socket.socket, request: bytes, pending: bytearray) -> tuple[int, dict, bytes]:
    """Sends one request and reads one response delimited by its Content-Length; bytes read
    past it stay in `pending` for the next call."""
    sock.sendall(request)
    while b"\r\n\r\n" not in pending:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response head: {bytes(pending)!r}"
        pending += chunk
    head, _, rest = bytes(pending).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    assert "chunked" not in headers.get("transfer-encoding", ""), headers
    length = int(headers["content-length"])
    body = bytearray(rest)
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed inside the body"
        body += chunk
    pending[:] = body[length:]
    return status, headers, bytes(body[:length])


def closed_by_server(sock: socket.socket) -> bool:
    """True once the server closes its side; False if it is still open after the timeout."""
    try:
        return sock.recv(1) == b""
    except socket.timeout:
        return False


def check_http10_connection_handling(base_url: str) -> None:
    """RFC 9112 §9.3: an HTTP/1.0 connection ends with the response unless the client asked for
    keep-alive and the server honours it (Chatter declines it; nginx, in front of the split
    topology, honours it); HTTP/1.1 connections persist until a request says `Connection: close`."""
    with connect(base_url) as sock:
        status, headers, body = exchange(sock, b"GET /healthz HTTP/1.0\r\nHost: chatter\r\n\r\n", bytearray())
        assert status == 200 and b'"ok"' in body
        assert headers.get("connection", "").lower() == "close", headers
        assert closed_by_server(sock), "the server kept an HTTP/1.0 connection open"

    request = b"GET /healthz HTTP/1.0\r\nHost: chatter\r\nConnection: keep-alive\r\n\r\n"
    with connect(base_url) as sock:
        pending = bytearray()
        status, headers, _ = exchange(sock, request, pending)
        assert status == 200
        if headers.get("connection", "").lower() == "keep-alive":
            status, _, _ = exchange(sock, request, pending)
            assert status == 200
        else:
            assert headers.get("connection", "").lower() == "close", headers
            assert closed_by_server(sock), "declined keep-alive, yet kept the connection open"

    with connect(base_url) as sock:
        pending = bytearray()
        for _ in range(2):
            status, headers, _ = exchange(sock, b"GET /healthz HTTP/1.1\r\nHost: chatter\r\n\r\n", pending)
            assert status == 200
            assert headers.get("connection", "").lower() != "close", headers
        status, _, _ = exchange(sock, b"GET /healthz HTTP/1.1\r\nHost: chatter\r\nConnection: close\r\n\r\n", pending)
        assert status == 200
        assert closed_by_server(sock)
