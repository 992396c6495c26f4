#!/usr/bin/env python3
"""Checks Chatter's OpenAPI document against the v1 contract (docs: /work/shared/api-v1.md).

Usage: scripts/check_openapi.py [path/to/openapi.yaml]

Without an argument it checks Sources/Gateway/Resources/openapi.yaml of the repository this
script lives in. It validates the file as OpenAPI 3.1, then asserts that every contract
operation is present with its documented success status code(s). Exits 0 and prints
"openapi: N operations checked" on success; exits 1 listing every problem otherwise.

Needs: pip install pyyaml openapi-spec-validator
"""

import sys
from pathlib import Path

try:
    import yaml
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
except ImportError as exc:  # pragma: no cover - environment problem, not a spec problem
    sys.exit(f"openapi: missing dependency ({exc}); run: pip install pyyaml openapi-spec-validator")

try:
    from openapi_spec_validator import OpenAPIV31SpecValidator
except ImportError:  # older releases name it differently
    from openapi_spec_validator import openapi_v31_spec_validator as OpenAPIV31SpecValidator

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DOCUMENT = REPO_ROOT / "Sources" / "Gateway" / "Resources" / "openapi.yaml"

# (method, path) -> success status codes the contract promises. /v1/ws is deliberately absent
# (WebSocket; not describable here) and so is /metrics (not built yet).
CONTRACT = {
    # auth
    ("post", "/v1/auth/register"): {"201"},
    ("post", "/v1/auth/login"): {"200"},
    ("post", "/v1/auth/refresh"): {"200"},
    ("post", "/v1/auth/logout"): {"204"},
    ("get", "/v1/users/me"): {"200"},
    ("get", "/v1/users"): {"200"},
    ("get", "/.well-known/jwks.json"): {"200"},
    # chats
    ("post", "/v1/chats"): {"201", "200"},
    ("get", "/v1/chats"): {"200"},
    ("get", "/v1/chats/{chat_id}"): {"200"},
    ("patch", "/v1/chats/{chat_id}"): {"200"},
    ("post", "/v1/chats/{chat_id}/members"): {"201"},
    ("delete", "/v1/chats/{chat_id}/members/{user_id}"): {"204"},
    # messages
    ("post", "/v1/chats/{chat_id}/messages"): {"201", "200"},
    ("get", "/v1/chats/{chat_id}/messages"): {"200"},
    ("patch", "/v1/chats/{chat_id}/messages/{message_id}"): {"200"},
    ("delete", "/v1/chats/{chat_id}/messages/{message_id}"): {"204"},
    ("post", "/v1/chats/{chat_id}/read"): {"204"},
    # operations
    ("get", "/healthz"): {"200"},
    ("get", "/readyz"): {"200"},
    ("get", "/openapi.yaml"): {"200"},
}

# Operations that must be callable without a token; every other contract operation must
# require bearerAuth.
PUBLIC = {
    ("post", "/v1/auth/register"),
    ("post", "/v1/auth/login"),
    ("post", "/v1/auth/refresh"),
    ("get", "/.well-known/jwks.json"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/openapi.yaml"),
}

# Query parameters the contract names.
QUERY_PARAMETERS = {
    ("get", "/v1/users"): {"prefix", "limit"},
    ("get", "/v1/chats"): {"limit", "cursor"},
    ("get", "/v1/chats/{chat_id}/messages"): {"before_seq", "after_seq", "limit"},
}


def resolve(document, node):
    """Follows local `$ref`s (#/...) until a non-reference node."""
    seen = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/") or ref in seen:
            raise ValueError(f"cannot resolve $ref {ref!r}")
        seen.add(ref)
        node = document
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def check(document):
    problems = []
    paths = document.get("paths") or {}
    global_security = document.get("security")

    for (method, path), statuses in CONTRACT.items():
        label = f"{method.upper()} {path}"
        item = paths.get(path)
        if not isinstance(item, dict):
            problems.append(f"{label}: path is missing")
            continue
        operation = item.get(method)
        if not isinstance(operation, dict):
            problems.append(f"{label}: operation is missing")
            continue

        responses = {str(code) for code in (operation.get("responses") or {})}
        for status in sorted(statuses - responses):
            problems.append(f"{label}: success response {status} is missing")

        security = operation.get("security", global_security)
        is_public = security is not None and (security == [] or {} in security)
        if (method, path) in PUBLIC and not is_public:
            problems.append(f"{label}: must not require authentication")
        if (method, path) not in PUBLIC and (is_public or not any("bearerAuth" in s for s in security or [])):
            problems.append(f"{label}: must require bearerAuth")

        wanted = QUERY_PARAMETERS.get((method, path), set())
        if wanted:
            declared = set()
            for parameter in list(item.get("parameters") or []) + list(operation.get("parameters") or []):
                parameter = resolve(document, parameter)
                if parameter.get("in") == "query":
                    declared.add(parameter.get("name"))
            for name in sorted(wanted - declared):
                problems.append(f"{label}: query parameter {name!r} is missing")

    for path in paths:
        if path == "/v1/ws" or path == "/metrics":
            problems.append(f"{path}: must not be described in this document")

    return problems


def main(argv):
    target = Path(argv[1]) if len(argv) > 1 else DEFAULT_DOCUMENT
    try:
        with open(target, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
    except OSError as exc:
        print(f"openapi: cannot read {target}: {exc}", file=sys.stderr)
        return 1
    except yaml.YAMLError as exc:
        print(f"openapi: {target} is not valid YAML: {exc}", file=sys.stderr)
        return 1
    if not isinstance(document, dict):
        print(f"openapi: {target} is not a YAML mapping", file=sys.stderr)
        return 1
    if not str(document.get("openapi", "")).startswith("3.1"):
        print(f"openapi: {target} declares openapi {document.get('openapi')!r}, expected 3.1.x", file=sys.stderr)
        return 1

    try:
        validate(document, cls=OpenAPIV31SpecValidator)
    except OpenAPIValidationError as exc:
        print(f"openapi: {target} is not a valid OpenAPI 3.1 document: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # e.g. a $ref that points nowhere surfaces as a resolver error
        print(f"openapi: {target} could not be validated: {type(exc).__name__}: {exc}"[:2000], file=sys.stderr)
        return 1

    problems = check(document)
    if problems:
        print(f"openapi: {target} does not match the v1 contract ({len(problems)} problem(s)):", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1

    print(f"openapi: {len(CONTRACT)} operations checked")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
