"""Writes the fuzz seed corpora from the specs, the scenario files and the admin API."""

import hashlib
import json
import pathlib
import re

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"

# One credential per provider, shaped as the tests send them.
AUTH = {
    "mercadopago": [
        ("Authorization", "Bearer TEST-8237283748732847-052210-6b2f3c9e4d5a6b7c8d9e0f1a2b3c4d5e-448870796"),
        ("X-Idempotency-Key", "seed-key-1"),
    ],
    "square": [("Authorization", "Bearer EAAAl-seed-token"), ("Square-Version", "2025-08-20")],
    "eximpe": [("X-Client-ID", "shop-1"), ("X-Client-Secret", "s3cret"), ("X-API-Version", "2.0.0")],
}
SAMPLE_IDS = {
    "customer_id": "1234567890-AtTheLimit",
    "card_id": "9000000000129",
    "token_id": "9b2d63e00d66a8c721607214ceda233a",
    "payment_profile_id": "pp-1",
}


def request(method, path, headers, body=None):
    data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    lines = [f"{method.upper()} {path} HTTP/1.1", "Host: sandbox"]
    lines += [f"{k}: {v}" for k, v in headers]
    if body is not None:
        lines.append("Content-Type: application/json")
    lines.append(f"Content-Length: {len(data)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def write(target, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def spec_requests():
    for f in sorted((ROOT / "specs").glob("*.yaml")):
        doc = yaml.safe_load(f.read_text())
        provider = doc["info"]["x-paysandbox-provider"]
        for path, item in doc["paths"].items():
            concrete = re.sub(r"\{(\w+)\}", lambda m: SAMPLE_IDS.get(m.group(1), "x1"), path)
            for method, op in item.items():
                if method not in ("get", "post", "put", "delete", "patch"):
                    continue
                content = op.get("requestBody", {}).get("content", {}).get("application/json", {})
                bodies = []
                if "example" in content:
                    bodies.append(content["example"])
                bodies += [e.get("value") for e in content.get("examples", {}).values()]
                for body in bodies or [None]:
                    yield request(method, concrete, AUTH[provider], body)
                # The same call with no credentials at all.
                yield request(method, concrete, [], bodies[0] if bodies else None)


def scenario_requests():
    for f in sorted((ROOT / "scenarios").glob("*.yaml")):
        s = yaml.safe_load(f.read_text())
        ex = (s or {}).get("example", {}).get("request")
        if not ex:
            continue
        headers = list((ex.get("headers") or {}).items())
        plain = request(ex["method"], ex["path"], headers, ex.get("body"))
        yield plain
        # Activated by header, and activated over the admin API then sent twice (keep-alive).
        yield request(ex["method"], ex["path"], headers + [("X-Sandbox-Scenario", s["name"])], ex.get("body"))
        activate = request("POST", f"/__sandbox/scenarios/{s['name']}/activate", [], {})
        yield activate + plain + plain


def admin_requests():
    mp, sq, ex = AUTH["mercadopago"], AUTH["square"], AUTH["eximpe"]
    yield request("GET", "/__sandbox/health", [])
    yield request("POST", "/__sandbox/mercadopago/settings", [], {"max_cards_per_customer": 1})
    yield request("POST", "/__sandbox/square/settings", [], {"nonce_ttl_seconds": 1})
    yield request("POST", "/__sandbox/eximpe/settings", [], {"only_registered": True})
    yield request("POST", "/__sandbox/eximpe/credentials", [], {"client_id": "shop-1", "client_secret": "s3cret"})
    yield request("POST", "/__sandbox/clock/advance", [], {"seconds": 604800})
    yield request("POST", "/__sandbox/reset", [], {"provider": "square"})
    yield request("GET", "/__sandbox/journal?limit=2", [])
    nonce = request("POST", "/__sandbox/square/nonces", sq[:1],
                    {"card_number": "4111111111111111", "exp_month": 12, "exp_year": 2030,
                     "cvv": "111", "postal_code": "94103"})
    yield nonce
    # Stories on one connection: create then list, so later requests see earlier state.
    yield (request("POST", "/v1/customers", mp, {"email": "test_payer_1@testuser.com"})
           + request("GET", "/v1/customers/search?email=test_payer_1@testuser.com", mp))
    yield (request("POST", "/v1/card_tokens", mp,
                   {"card_number": "5031433215406351", "expiration_month": 11, "expiration_year": 2030,
                    "security_code": "123", "cardholder": {"name": "APRO"}})
           + request("POST", "/__sandbox/state", [], {"provider": "mercadopago", "tenant": mp[0][1][7:],
                                                      "state": {"customers": [{"id": "c1"}]}})
           + request("GET", "/v1/customers/c1/cards", mp))
    yield (nonce + request("POST", "/v2/cards", sq,
                           {"idempotency_key": "k1", "source_id": "cnon:card-nonce-ok",
                            "card": {"customer_id": "C1"}}) + request("GET", "/v2/cards", sq))
    saved = {"identifier": "USER_1", "card_number": "4111111111111111", "cardholder_name": "Ana",
             "expiry_month": 12, "expiry_year": 2030, "network": "VISA", "card_type": "CREDIT",
             "card_holder_consent": True}
    yield (request("POST", "/pg/tokens/", ex, saved) + request("GET", "/pg/tokens/?identifier=USER_1", ex)
           + request("POST", "/pg/tokens/delete/", ex, {"identifier": "USER_1", "token": "t"}))
    # Framing edge cases.
    yield b"GET /v2/cards HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    yield b"POST /v1/customers HTTP/1.1\r\nContent-Length: 5\r\n\r\n{\"a\":"
    yield b"GET /__sandbox/state?tenant=%FF%00 HTTP/1.0\r\n\r\n"


def spec_variants():
    for f in sorted((ROOT / "specs").glob("*.yaml")):
        text = f.read_text()
        yield text.encode()
        doc = yaml.safe_load(text)
        for path, item in doc["paths"].items():
            one = dict(doc)
            one["paths"] = {path: item}
            yield yaml.safe_dump(one, sort_keys=False).encode()
    yield b"openapi: 3.0.3\ninfo: {title: t, version: '1', x-paysandbox-provider: square}\npaths: {}\n"


def main():
    counts = {}
    for target, items in [
        ("http_pipeline", list(spec_requests()) + list(scenario_requests()) + list(admin_requests())),
        ("scenario_file", [f.read_bytes() for f in sorted((ROOT / "scenarios").glob("*.yaml"))]),
        ("spec_loader", list(spec_variants())),
    ]:
        for data in items:
            write(target, data)
        counts[target] = len(list((CORPUS / target).iterdir()))
    for target, n in counts.items():
        print(f"fuzz/corpus/{target}: {n} files")


if __name__ == "__main__":
    main()
