"""5. Concurrent sends to one group chat get gap-free, unique seqs."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from conftest import HTTP_TIMEOUT_S, describe

SENDS = 40


def test_concurrent_sends_get_seqs_1_to_n(server):
    alice = server.register()
    bob = server.register()
    r = server.post("/v1/chats", {"type": "group", "title": "busy",
                                  "member_ids": [bob["user"]["id"]]}, token=alice["access_token"])
    assert r.status_code == 201, describe(r)
    chat_id = r.json()["id"]
    url = f"{server.base_url}/v1/chats/{chat_id}/messages"

    barrier = threading.Barrier(SENDS, timeout=HTTP_TIMEOUT_S)

    def send(i: int):
        sender = alice if i % 2 == 0 else bob
        body = {"body": f"concurrent {i}", "client_msg_id": f"c-{i}-{uuid.uuid4()}"}
        barrier.wait()  # release all the requests at once
        resp = requests.post(url, json=body, timeout=HTTP_TIMEOUT_S,
                             headers={"Authorization": f"Bearer {sender['access_token']}"})
        return i, sender["user"]["id"], resp

    with ThreadPoolExecutor(max_workers=SENDS) as pool:
        results = list(pool.map(send, range(SENDS), timeout=HTTP_TIMEOUT_S * 2))

    for _i, _sender, resp in results:
        assert resp.status_code == 201, describe(resp)
    messages = {i: resp.json() for i, _sender, resp in results}
    for i, sender_id, _resp in results:
        assert messages[i]["sender_id"] == sender_id
        assert messages[i]["body"] == f"concurrent {i}"
    seqs = sorted(m["seq"] for m in messages.values())
    assert seqs == list(range(1, SENDS + 1)), seqs
    assert len({m["id"] for m in messages.values()}) == SENDS

    # Both members see the same 40 messages in ascending seq order.
    for reader in (alice, bob):
        r = server.get(f"/v1/chats/{chat_id}/messages", params={"limit": 200},
                       token=reader["access_token"])
        assert r.status_code == 200, describe(r)
        page = r.json()
        assert page["has_more"] is False, page
        history = page["messages"]
        assert [m["seq"] for m in history] == list(range(1, SENDS + 1)), [m["seq"] for m in history]
        by_seq = {m["seq"]: m["id"] for m in messages.values()}
        assert [m["id"] for m in history] == [by_seq[s] for s in range(1, SENDS + 1)]

    r = server.get(f"/v1/chats/{chat_id}", token=bob["access_token"])
    assert r.status_code == 200, describe(r)
    assert r.json()["last_seq"] == SENDS
