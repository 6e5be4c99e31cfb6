"""Square's official Python SDK (PyPI `squareup`) against paysandbox, unchanged.

Usage: square_flow.py BASE_URL. Exits non-zero, naming the step, on any mismatch.
"""

import json
import sys
import urllib.request
import uuid

from square import Square
from square.core.api_error import ApiError

BASE = sys.argv[1].rstrip("/")
TOKEN = "sq-interop-" + uuid.uuid4().hex[:12]


def check(step, condition, detail=""):
    if not condition:
        print(f"FAILED at {step}: {detail}", file=sys.stderr)
        sys.exit(1)
    print(f"ok  {step}")


def mint(card):
    """The browser step: the sandbox-only nonce endpoint stands in for the Web Payments SDK."""
    req = urllib.request.Request(
        BASE + "/__sandbox/square/nonces",
        data=json.dumps(card).encode(),
        headers={"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req) as resp:
        return json.load(resp)


client = Square(base_url=BASE, token=TOKEN)

# Customers.
created = client.customers.create(
    given_name="Amelia",
    family_name="Earhart",
    email_address="Amelia.Earhart@example.com",
    phone_number="+1-212-555-4240",
    reference_id="interop-1",
    address={"address_line_1": "500 Electric Ave", "postal_code": "94103", "country": "US"},
)
customer = created.customer
check("customers.create", customer is not None and len(customer.id) == 26, created)
check("customers.create typed", customer.version == 0 and customer.creation_source == "THIRD_PARTY"
      and customer.preferences.email_unsubscribed is False and customer.address.country == "US", customer)

got = client.customers.get(customer_id=customer.id).customer
check("customers.get", got.id == customer.id and got.given_name == "Amelia", got)

updated = client.customers.update(customer_id=customer.id, note="flies", phone_number=None, version=0).customer
check("customers.update", updated.version == 1 and updated.note == "flies", updated)

client.customers.create(given_name="Bob", email_address="bob@example.com")
listed = [c.id for c in client.customers.list(limit=1)]
check("customers.list (pager over two pages)", len(listed) == 2 and customer.id in listed, listed)

found = client.customers.search(query={"filter": {"email_address": {"exact": "amelia.earhart@example.com"}}})
check("customers.search", [c.id for c in found.customers or []] == [customer.id], found)

# The deprecated customer-card endpoint with Square's sandbox nonce, as the SDK's own tests do.
legacy = client.customers.cards.create(customer_id=customer.id, card_nonce="cnon:card-nonce-ok")
check("customers.cards.create", legacy.card.card_brand == "VISA" and legacy.card.last4 == "1111"
      and legacy.card.id.startswith("ccof:"), legacy)
again = client.customers.cards.create(customer_id=customer.id, card_nonce="cnon:card-nonce-ok")
check("customers.cards.create is idempotent per nonce", again.card.id == legacy.card.id, again)

# The Cards API with a minted nonce.
nonce = mint({"card_number": "5105105105105100", "exp_month": 4, "exp_year": 2032, "cvv": "111", "postal_code": "94103"})
check("mint", nonce["nonce"].startswith("cnon:") and nonce["card"]["card_brand"] == "MASTERCARD", nonce)
card = client.cards.create(
    idempotency_key=str(uuid.uuid4()),
    source_id=nonce["nonce"],
    card={"customer_id": customer.id, "cardholder_name": "Amelia Earhart", "reference_id": "user-1",
          "billing_address": {"postal_code": "94103", "country": "US"}},
).card
check("cards.create", card.card_brand == "MASTERCARD" and card.last4 == "5100" and card.bin == "510510"
      and card.exp_month == 4 and card.exp_year == 2032 and card.enabled is True and card.version == 1
      and card.card_type == "CREDIT" and card.prepaid_type == "NOT_PREPAID" and len(card.merchant_id) == 13, card)

fetched = client.cards.get(card_id=card.id).card
check("cards.get", fetched.id == card.id and fetched.fingerprint == card.fingerprint, fetched)

ids = [c.id for c in client.cards.list(customer_id=customer.id)]
check("cards.list (pager)", ids == [legacy.card.id, card.id], ids)

disabled = client.cards.disable(card_id=card.id).card
check("cards.disable", disabled.enabled is False and disabled.version == 2, disabled)
ids = [c.id for c in client.cards.list(customer_id=customer.id)]
check("cards.list leaves disabled cards out", ids == [legacy.card.id], ids)

client.customers.cards.delete(customer_id=customer.id, card_id=legacy.card.id)
check("customers.cards.delete", [c.id for c in client.cards.list(customer_id=customer.id)] == [])

# Errors surface as ApiError with Square's status and code.
try:
    client.customers.cards.create(customer_id=customer.id, card_nonce="cnon:card-nonce-already-used")
    check("spent nonce raises", False, "no error")
except ApiError as e:
    check("spent nonce raises ApiError 400 CARD_TOKEN_USED",
          e.status_code == 400 and e.errors[0].code == "CARD_TOKEN_USED"
          and e.errors[0].category == "INVALID_REQUEST_ERROR", (e.status_code, e.body))

try:
    client.cards.get(card_id="ccof:doesnotexist0000")
    check("unknown card raises", False, "no error")
except ApiError as e:
    check("unknown card raises ApiError 404 NOT_FOUND", e.status_code == 404 and e.errors[0].code == "NOT_FOUND",
          (e.status_code, e.body))

deleted = client.customers.delete(customer_id=customer.id)
check("customers.delete", not deleted.errors, deleted)
try:
    client.customers.get(customer_id=customer.id)
    check("deleted customer raises", False, "no error")
except ApiError as e:
    check("deleted customer raises ApiError 404", e.status_code == 404 and e.errors[0].code == "NOT_FOUND",
          (e.status_code, e.body))

print("square_flow: all steps passed")
