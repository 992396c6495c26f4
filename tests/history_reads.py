"""Read-your-writes across instances for the newest history page, which each messaging instance
may serve from memory (docs/architecture.md, "History page cache"): a change acknowledged by one
instance must be in the very next newest page any other instance serves, though that one held
the chat's page in memory a moment before."""
from __future__ import annotations

import uuid

import requests


def newest_page(base: str, headers: dict, chat_id: str) -> list[dict]:
    r = requests.get(f"{base}/v1/chats/{chat_id}/messages", headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["messages"]


def check_newest_page_follows_every_change(bases: list[str], headers: dict, chats_base: str, rounds: int = 20) -> None:
    """Creates a chat through `chats_base`, then alternates the instances in `bases`: each round
    reads the page on one (so it is held there), sends on another, and reads again on the first;
    every few rounds it edits or deletes too."""
    assert len(bases) >= 2
    r = requests.post(chats_base + "/v1/chats", json={"type": "group", "title": "history", "member_ids": []},
                      headers=headers, timeout=10)
    assert r.status_code == 201, r.text
    chat_id = r.json()["id"]
    for round_ in range(rounds):
        reader, writer = bases[round_ % len(bases)], bases[(round_ + 1) % len(bases)]
        newest_page(reader, headers, chat_id)
        newest_page(reader, headers, chat_id)  # now certainly held by the reader
        sent = requests.post(f"{writer}/v1/chats/{chat_id}/messages", headers=headers, timeout=10,
                             json={"body": f"round {round_}", "client_msg_id": uuid.uuid4().hex})
        assert sent.status_code == 201, sent.text
        message = sent.json()
        page = newest_page(reader, headers, chat_id)
        assert page and page[-1]["id"] == message["id"] and page[-1]["seq"] == round_ + 1, \
            f"round {round_}: {reader} served a page without the message {writer} acknowledged"
        if round_ % 5 == 2:
            edited = requests.patch(f"{writer}/v1/chats/{chat_id}/messages/{message['id']}", headers=headers, timeout=10,
                                    json={"body": f"round {round_}, edited"})
            assert edited.status_code == 200, edited.text
            assert newest_page(reader, headers, chat_id)[-1]["body"] == f"round {round_}, edited"
        if round_ % 5 == 4:
            deleted = requests.delete(f"{writer}/v1/chats/{chat_id}/messages/{message['id']}", headers=headers, timeout=10)
            assert deleted.status_code == 204, deleted.text
            assert newest_page(reader, headers, chat_id)[-1].get("deleted") is True
