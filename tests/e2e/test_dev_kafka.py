"""`chatter dev-kafka`: librdkafka's mock cluster, reached from another process.

Built only with the Kafka trait (`swift build --traits Kafka`); skipped for a binary without it.
The test speaks the Kafka protocol itself (a Metadata v0 request over TCP), so it needs no
Kafka client; `kcat -L` is checked too when kcat is installed.
"""

from __future__ import annotations

import contextlib
import select
import shutil
import signal
import socket
import struct
import subprocess

import pytest

from conftest import chatter_bin, chatter_env

START_TIMEOUT_S = 15.0


def has_dev_kafka() -> bool:
    result = subprocess.run([str(chatter_bin()), "--help"], capture_output=True, text=True, timeout=30)
    return "dev-kafka" in result.stdout


def metadata(host: str, port: int) -> tuple[list[int], dict[str, int]]:
    """Broker ids and topic → partition count, from a Metadata v0 request for all topics."""
    client = b"chatter-e2e"
    body = struct.pack(">hhih", 3, 0, 42, len(client)) + client + struct.pack(">i", 0)
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(struct.pack(">i", len(body)) + body)
        size = struct.unpack(">i", _read(sock, 4))[0]
        data = _read(sock, size)
    offset = 0

    def take(fmt: str):
        nonlocal offset
        values = struct.unpack_from(fmt, data, offset)
        offset += struct.calcsize(fmt)
        return values[0] if len(values) == 1 else values

    def string() -> str:
        nonlocal offset
        length = take(">h")
        text = data[offset:offset + length].decode()
        offset += length
        return text

    assert take(">i") == 42, "correlation id"
    brokers = []
    for _ in range(take(">i")):
        brokers.append(take(">i"))
        string()
        take(">i")
    topics = {}
    for _ in range(take(">i")):
        take(">h")
        name = string()
        count = take(">i")
        for _ in range(count):
            take(">hii")  # error, partition, leader
            for _ in range(2):  # replica ids, then in-sync replica ids
                ids = take(">i")
                offset += 4 * ids
        topics[name] = count
    return sorted(brokers), topics


def _read(sock: socket.socket, count: int) -> bytes:
    chunks = b""
    while len(chunks) < count:
        chunk = sock.recv(count - len(chunks))
        assert chunk, "connection closed"
        chunks += chunk
    return chunks


@contextlib.contextmanager
def dev_kafka(brokers: int):
    """A running `chatter dev-kafka` and the bootstrap line it printed; killed afterwards if it
    is still running (a test that stops it checks how it exited)."""
    process = subprocess.Popen(
        [str(chatter_bin()), "dev-kafka", "--brokers", str(brokers)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=chatter_env(), text=True)
    try:
        ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT_S)
        assert ready, "no bootstrap servers printed"
        yield process, process.stdout.readline().strip()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_dev_kafka_prints_brokers_that_another_process_reaches():
    if not has_dev_kafka():
        pytest.skip("binary built without the Kafka trait")
    with dev_kafka(brokers=3) as (process, bootstrap):
        addresses = bootstrap.split(",")
        assert len(addresses) == 3, bootstrap
        for address in addresses:
            host, port = address.rsplit(":", 1)
            brokers, topics = metadata(host, int(port))
            assert brokers == [1, 2, 3]
            assert topics.get("chatter.chat-events") == 6
        if shutil.which("kcat"):
            listing = subprocess.run(["kcat", "-b", bootstrap, "-L"], capture_output=True, text=True, timeout=30)
            assert listing.returncode == 0, listing.stderr
            assert 'topic "chatter.chat-events" with 6 partitions' in listing.stdout
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_dev_kafka_stops_cleanly_on_sigterm_sent_the_moment_it_prints():
    """A script may signal as soon as it has read the line; the signal must already be trapped
    (before, a SIGTERM sent right away ended the process by its default action in most tries)."""
    if not has_dev_kafka():
        pytest.skip("binary built without the Kafka trait")
    for _ in range(5):
        with dev_kafka(brokers=1) as (process, bootstrap):
            assert bootstrap
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
