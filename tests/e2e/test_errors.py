"""6. Error shapes over the wire, and the server stays healthy afterwards."""

import base64
import hashlib
import hmac
import json
import uuid

import pytest
import requests

from conftest import (HTTP_TIMEOUT_S, assert_error, assert_session, b64url_decode,
                      b64url_encode, describe, unique_username)


@pytest.fixture
def world(server):
    """alice and bob share a group chat (alice owns it); carol is an outsider."""
    alice, bob, carol = server.register(), server.register(), server.register()
    r = server.post("/v1/chats", {"type": "group", "title": "members only",
                                  "member_ids": [bob["user"]["id"]]}, token=alice["access_token"])
    assert r.status_code == 201, describe(r)
    return {"alice": alice, "bob": bob, "carol": carol, "chat_id": r.json()["id"]}


def flip(ch: str) -> str:
    return "B" if ch == "A" else "A"


def test_error_shapes(server, world):
    alice, bob, carol, chat_id = world["alice"], world["bob"], world["carol"], world["chat_id"]
    a_tok = alice["access_token"]

    # Unknown routes: 404 JSON.
    assert_error(server.get("/no/such/route"), 404, "not_found")
    assert_error(server.get("/v1/nope", token=a_tok), 404, "not_found")

    # Malformed JSON.
    r = server.post("/v1/auth/register", data=b'{"username": "x", "password": ',
                    headers={"Content-Type": "application/json"})
    assert_error(r, 400, "malformed_json")

    # Wrong content type (form) → 415; a missing Content-Type is accepted.
    form_user = unique_username()
    r = server.post("/v1/auth/register", data={"username": form_user, "password": "password-123"})
    assert r.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert_error(r, 415, "unsupported_media_type")
    r = server.post("/v1/auth/register", data=b'{"username": "x", "password": "password-123"}',
                    headers={"Content-Type": "text/plain"})
    assert_error(r, 415, "unsupported_media_type")
    bare_user = unique_username()
    r = server.post("/v1/auth/register",
                    data=json.dumps({"username": bare_user, "password": "password-123"}).encode())
    assert "Content-Type" not in r.request.headers
    assert_session(r, 201, bare_user)

    # A 70 KiB body → 413 (both with Content-Length and chunked).
    big = json.dumps({"username": unique_username(), "password": "x" * (70 * 1024)}).encode()
    assert len(big) > 64 * 1024
    r = server.post("/v1/auth/register", data=big, headers={"Content-Type": "application/json"})
    assert_error(r, 413, "payload_too_large")
    big_msg = json.dumps({"body": "y" * (70 * 1024), "client_msg_id": str(uuid.uuid4())}).encode()
    r = server.post(f"/v1/chats/{chat_id}/messages", data=big_msg, token=a_tok,
                    headers={"Content-Type": "application/json"})
    assert_error(r, 413, "payload_too_large")

    def chunks():
        for i in range(0, len(big_msg), 8192):
            yield big_msg[i:i + 8192]

    r = server.post(f"/v1/chats/{chat_id}/messages", data=chunks(), token=a_tok,
                    headers={"Content-Type": "application/json"})
    assert r.request.headers.get("Transfer-Encoding") == "chunked"
    assert_error(r, 413, "payload_too_large")

    # Missing / bad input shapes → 400 invalid_request.
    assert_error(server.post("/v1/auth/register", {"username": unique_username()}),
                 400, "invalid_request")
    assert_error(server.post("/v1/auth/register", {"username": 12345, "password": "password-123"}),
                 400, "invalid_request")
    assert_error(server.get(f"/v1/chats/{chat_id}/messages", params={"limit": "abc"}, token=a_tok),
                 400, "invalid_request")

    # Semantically invalid → 422; taken username → 409; bad password → 401.
    assert_error(server.post("/v1/auth/register", {"username": unique_username(), "password": "short"}),
                 422, "validation_failed")
    assert_error(server.post("/v1/auth/register",
                             {"username": alice["user"]["username"], "password": "password-123"}),
                 409, "username_taken")
    assert_error(server.post("/v1/auth/register",
                             {"username": alice["user"]["username"].upper(), "password": "password-123"}),
                 409, "username_taken")  # usernames are case-insensitively unique
    assert_error(server.post("/v1/auth/login",
                             {"username": alice["user"]["username"], "password": "wrong-password"}),
                 401, "invalid_credentials")

    # Authentication failures → 401.
    assert_error(server.get("/v1/chats"), 401, "unauthorized")
    assert_error(server.get("/v1/chats", headers={"Authorization": "Basic YWxpY2U6cHc="}),
                 401, "unauthorized")
    assert_error(server.get("/v1/chats", token="not-a-jwt"), 401, "unauthorized")

    header_b64, payload_b64, sig_b64 = a_tok.split(".")
    mid = len(sig_b64) // 2  # not the last char: its low bits may be padding
    tampered_sig = sig_b64[:mid] + flip(sig_b64[mid]) + sig_b64[mid + 1:]
    assert b64url_decode(tampered_sig) != b64url_decode(sig_b64)
    assert_error(server.get("/v1/chats", token=f"{header_b64}.{payload_b64}.{tampered_sig}"),
                 401, "unauthorized")

    claims = json.loads(b64url_decode(payload_b64))
    forged_claims = dict(claims, sub=bob["user"]["id"])
    forged_payload = b64url_encode(json.dumps(forged_claims, separators=(",", ":")).encode())
    assert_error(server.get("/v1/users/me", token=f"{header_b64}.{forged_payload}.{sig_b64}"),
                 401, "unauthorized")

    header = json.loads(b64url_decode(header_b64))
    none_header = b64url_encode(json.dumps(dict(header, alg="none")).encode())
    for token in (f"{none_header}.{payload_b64}.", f"{none_header}.{payload_b64}.{sig_b64}"):
        assert_error(server.get("/v1/chats", token=token), 401, "unauthorized")

    # Key confusion: HS256 "signed" with the public key bytes.
    r = server.get("/.well-known/jwks.json")
    assert r.status_code == 200, describe(r)
    jwk = r.json()["keys"][0]
    hs_header = b64url_encode(json.dumps(dict(header, alg="HS256")).encode())
    signing_input = f"{hs_header}.{payload_b64}".encode()
    for secret in (jwk["x"].encode(), b64url_decode(jwk["x"])):
        mac = b64url_encode(hmac.new(secret, signing_input, hashlib.sha256).digest())
        assert_error(server.get("/v1/chats", token=f"{hs_header}.{payload_b64}.{mac}"),
                     401, "unauthorized")

    # The untouched token still works.
    r = server.get("/v1/chats", token=a_tok)
    assert r.status_code == 200, describe(r)

    # A non-member cannot see the chat or anything in it → 404.
    c_tok = carol["access_token"]
    assert_error(server.get(f"/v1/chats/{chat_id}", token=c_tok), 404, "not_found")
    assert_error(server.get(f"/v1/chats/{chat_id}/messages", token=c_tok), 404, "not_found")
    assert_error(server.post(f"/v1/chats/{chat_id}/messages",
                             {"body": "let me in", "client_msg_id": str(uuid.uuid4())}, token=c_tok),
                 404, "not_found")
    r = server.get("/v1/chats", token=c_tok)
    assert r.status_code == 200, describe(r)
    assert chat_id not in [c["id"] for c in r.json()["chats"]]

    # A plain member may not rename the group → 403.
    assert_error(server.request("PATCH", f"/v1/chats/{chat_id}", token=bob["access_token"],
                                json={"title": "renamed"}),
                 403, "forbidden")

    # Message body limits: 1..4000 Unicode scalars.
    too_long = {"body": "a" * 4001, "client_msg_id": str(uuid.uuid4())}
    assert_error(server.post(f"/v1/chats/{chat_id}/messages", too_long, token=a_tok),
                 422, "validation_failed")
    assert_error(server.post(f"/v1/chats/{chat_id}/messages",
                             {"body": "", "client_msg_id": str(uuid.uuid4())}, token=a_tok),
                 422, "validation_failed")
    # U+0000 is refused on every store (PostgreSQL's text cannot hold it); other controls are text.
    assert_error(server.post(f"/v1/chats/{chat_id}/messages",
                             {"body": "nul \u0000 inside", "client_msg_id": str(uuid.uuid4())}, token=a_tok),
                 422, "validation_failed")
    longest = "👍" * 4000  # 4000 scalars, 8000 UTF-16 units, 16000 UTF-8 bytes
    r = server.post(f"/v1/chats/{chat_id}/messages",
                    {"body": longest, "client_msg_id": str(uuid.uuid4())}, token=a_tok)
    assert r.status_code == 201, describe(r)
    assert r.json()["body"] == longest and r.json()["seq"] == 1
    r = server.get(f"/v1/chats/{chat_id}/messages", token=bob["access_token"])
    assert r.status_code == 200, describe(r)
    assert [m["seq"] for m in r.json()["messages"]] == [1], "rejected messages must not use up a seq"

    # The server is still healthy after all of that.
    r = server.get("/healthz")
    assert r.status_code == 200, describe(r)


def test_request_id_is_always_present_and_echoed(server):
    r1, r2 = server.get("/healthz"), server.get("/healthz")
    assert r1.headers.get("X-Request-Id") and r2.headers.get("X-Request-Id")
    assert r1.headers["X-Request-Id"] != r2.headers["X-Request-Id"]

    rid = "e2e-" + uuid.uuid4().hex
    r = server.get("/healthz", headers={"X-Request-Id": rid})
    assert r.status_code == 200, describe(r)
    assert r.headers.get("X-Request-Id") == rid, describe(r)

    rid = "e2e-err-" + uuid.uuid4().hex
    r = server.get("/v1/users/me", headers={"X-Request-Id": rid})
    assert_error(r, 401, "unauthorized")
    assert r.headers.get("X-Request-Id") == rid, describe(r)

    rid = "a" * 128
    r = server.get("/no/such/route", headers={"X-Request-Id": rid})
    assert_error(r, 404, "not_found")
    assert r.headers.get("X-Request-Id") == rid, describe(r)

    # Too long to echo: still answered with some request id.
    r = server.get("/healthz", headers={"X-Request-Id": "b" * 129})
    assert r.status_code == 200, describe(r)
    assert r.headers.get("X-Request-Id"), describe(r)

    assert server.get("/healthz").status_code == 200
