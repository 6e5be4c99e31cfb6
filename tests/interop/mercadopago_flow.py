"""The official Mercado Pago Python SDK, unchanged, against a paysandbox.

Usage: mercadopago_flow.py BASE_URL. Exits non-zero, naming the step, on any mismatch.
"""
import sys

import mercadopago
import mercadopago.config.config

BASE = sys.argv[1].rstrip("/")
# The SDK has no base-URL option; its class constant is the documented way in.
mercadopago.config.config.Config._Config__api_base_url = BASE

TOKEN = "TEST-8237283748732847-052210-6b2f3c9e4d5a6b7c8d9e0f1a2b3c4d5e-448870796"
USER_ID = 448870796


def check(step_, result_, http_, **fields):
    """Checks the SDK's result dict {"status", "response"}: the HTTP status, then fields.

    The parameters end in `_` so that `status=` can name a body field.
    """
    step = step_
    got = result_.get("status")
    body = result_.get("response")
    if got != http_:
        sys.exit(f"{step}: expected HTTP {http_}, got {got}: {body}")
    for key, want in fields.items():
        have = body.get(key) if isinstance(body, dict) else None
        if have != want:
            sys.exit(f"{step}: expected {key}={want!r}, got {have!r} in {body}")
    print(f"ok {step}")
    return body


sdk = mercadopago.SDK(TOKEN)

customer = check(
    "customer.create",
    sdk.customer().create({"email": "sdk_payer@example.com", "first_name": "Ana"}),
    201,
    email="sdk_payer@example.com",
    first_name="Ana",
    status="active",
    user_id=USER_ID,
    live_mode=False,
)
cid = customer["id"]
if not cid.startswith(f"{USER_ID}-"):
    sys.exit(f"customer id {cid!r} does not start with the user id")

check("customer.get", sdk.customer().get(cid), 200, id=cid)
found = check("customer.search", sdk.customer().search({"email": "sdk_payer@example.com"}), 200)
if found["paging"]["total"] != 1 or found["results"][0]["id"] != cid:
    sys.exit(f"customer.search: expected the customer, got {found}")
check("customer.update", sdk.customer().update(cid, {"last_name": "Silva"}), 200, last_name="Silva")
check(
    "customer.update email",
    sdk.customer().update(cid, {"email": "other@example.com"}),
    400,
    message="invalid parameter. You cannot update the email.",
)

token = check(
    "card_token.create",
    sdk.card_token().create(
        {
            "card_number": "5031433215406351",
            "expiration_month": 11,
            "expiration_year": 2035,
            "security_code": "123",
            "cardholder": {"name": "APRO", "identification": {"type": "CPF", "number": "12345678909"}},
        }
    ),
    201,
    status="active",
    first_six_digits="503143",
    last_four_digits="6351",
)
check("card_token.get", sdk.card_token().get(token["id"]), 200, id=token["id"], status="active")

card = check(
    "card.create",
    sdk.card().create(cid, {"token": token["id"]}),
    201,
    customer_id=cid,
    first_six_digits="503143",
    last_four_digits="6351",
    user_id=str(USER_ID),
)
if card["payment_method"]["id"] != "master" or card["cardholder"]["name"] != "APRO":
    sys.exit(f"card.create: unexpected card {card}")

reused = check("card.create reused token", sdk.card().create(cid, {"token": token["id"]}), 400)
if reused["cause"][0]["code"] != 3003:
    sys.exit(f"card.create reused token: expected cause 3003, got {reused}")

listed = sdk.card().list_all(cid)
if listed["status"] != 200 or [c["id"] for c in listed["response"]] != [card["id"]]:
    sys.exit(f"card.list_all: expected [{card['id']}], got {listed}")
print("ok card.list_all")

check("card.get", sdk.card().get(cid, card["id"]), 200, id=card["id"])
updated = check(
    "card.update",
    sdk.card().update(cid, card["id"], {"expiration_month": 12, "cardholder": {"name": "OTHE"}}),
    200,
    id=card["id"],
    expiration_month=12,
)
if updated["cardholder"]["name"] != "OTHE":
    sys.exit(f"card.update: cardholder not updated: {updated}")
check("card.delete", sdk.card().delete(cid, card["id"]), 200, id=card["id"])
after = sdk.card().list_all(cid)
if after["status"] != 200 or after["response"] != []:
    sys.exit(f"card.list_all after delete: expected [], got {after}")
print("ok card.list_all after delete")

check("customer.delete", sdk.customer().delete(cid), 200, id=cid, status="deactive")
check("customer.get deleted", sdk.customer().get(cid), 404, message="customer not found")

anonymous = mercadopago.SDK("")
check("no credentials", anonymous.customer().get(cid), 401)
print("mercadopago_flow: all steps passed")
