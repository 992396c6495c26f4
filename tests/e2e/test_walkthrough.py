"""1. The README walkthrough, end to end over HTTP."""

import uuid

from conftest import assert_session, assert_timestamp, describe


def find_chat(chats, chat_id):
    matches = [c for c in chats if c["id"] == chat_id]
    assert len(matches) == 1, f"chat {chat_id} should appear exactly once in {chats}"
    return matches[0]


def test_readme_walkthrough(server):
    # Register alice and bob.
    r = server.post("/v1/auth/register",
                    {"username": "alice", "password": "alice-password-1", "display_name": "Alice"})
    alice = assert_session(r, 201, "alice")
    assert alice["user"]["display_name"] == "Alice"
    r = server.post("/v1/auth/register", {"username": "bob", "password": "bob-password-1"})
    bob = assert_session(r, 201, "bob")
    assert alice["user"]["id"] != bob["user"]["id"]
    a_tok, b_tok = alice["access_token"], bob["access_token"]
    alice_id, bob_id = alice["user"]["id"], bob["user"]["id"]

    r = server.get("/v1/users/me", token=a_tok)
    assert r.status_code == 200, describe(r)
    assert r.json()["id"] == alice_id and r.json()["username"] == "alice"

    # Alice creates a direct chat with bob; the same request again returns it with 200.
    r = server.post("/v1/chats", {"type": "direct", "member_ids": [bob_id]}, token=a_tok)
    assert r.status_code == 201, describe(r)
    chat = r.json()
    chat_id = chat["id"]
    assert isinstance(chat_id, str) and chat_id
    assert chat["type"] == "direct"
    assert chat["last_seq"] == 0, chat
    assert chat["unread_count"] == 0, chat
    assert_timestamp(chat["created_at"])
    assert {m["user_id"] for m in chat["members"]} == {alice_id, bob_id}, chat

    r = server.post("/v1/chats", {"type": "direct", "member_ids": [bob_id]}, token=a_tok)
    assert r.status_code == 200, describe(r)
    assert r.json()["id"] == chat_id

    # Alice sends a message; the same client_msg_id again returns the same message with 200.
    client_msg_id = str(uuid.uuid4())
    send = {"body": "hi bob 👋", "client_msg_id": client_msg_id}
    r = server.post(f"/v1/chats/{chat_id}/messages", send, token=a_tok)
    assert r.status_code == 201, describe(r)
    msg = r.json()
    assert msg["seq"] == 1, msg
    assert msg["chat_id"] == chat_id
    assert msg["sender_id"] == alice_id
    assert msg["body"] == "hi bob 👋"
    assert msg["client_msg_id"] == client_msg_id
    assert_timestamp(msg["created_at"])
    assert not msg.get("deleted", False)

    r = server.post(f"/v1/chats/{chat_id}/messages", send, token=a_tok)
    assert r.status_code == 200, describe(r)
    again = r.json()
    assert again["id"] == msg["id"] and again["seq"] == 1, again

    # Bob reads the history and sees the message (exactly once).
    r = server.get(f"/v1/chats/{chat_id}/messages", token=b_tok)
    assert r.status_code == 200, describe(r)
    history = r.json()
    assert history["has_more"] is False, history
    assert [m["id"] for m in history["messages"]] == [msg["id"]], history
    assert history["messages"][0]["seq"] == 1
    assert history["messages"][0]["body"] == "hi bob 👋"

    # Bob's chat list: one unread, last_message is alice's message.
    r = server.get("/v1/chats", token=b_tok)
    assert r.status_code == 200, describe(r)
    listed = find_chat(r.json()["chats"], chat_id)
    assert listed["unread_count"] == 1, listed
    assert listed["last_seq"] == 1, listed
    assert listed["last_message"]["id"] == msg["id"], listed
    assert listed["last_message"]["seq"] == 1, listed
    assert listed["last_message"]["body"] == "hi bob 👋", listed

    # Bob marks it read: 204 with no body, then unread_count is 0.
    r = server.post(f"/v1/chats/{chat_id}/read", {"seq": 1}, token=b_tok)
    assert r.status_code == 204, describe(r)
    assert r.content == b"", describe(r)

    r = server.get("/v1/chats", token=b_tok)
    assert r.status_code == 200, describe(r)
    listed = find_chat(r.json()["chats"], chat_id)
    assert listed["unread_count"] == 0, listed
    assert listed["last_message"]["id"] == msg["id"], listed
