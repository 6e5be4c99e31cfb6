//! Square cards on file over HTTP: nonces (minted and Square's fixed sandbox ones), the
//! deprecated customer-card endpoints and the Cards API sharing one card store.

mod common;
mod square_support;

use reqwest::Method;
use serde_json::{Value, json};
use square_support::{OK_NONCE, Seller, mint, start, this_year, visa};
use std::time::Duration;

/// Merges `extra`'s keys into `base`.
fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    base
}

fn err(category: &str, code: &str) -> Value {
    json!({"category": category, "code": code})
}

fn errors(list: Vec<Value>) -> Value {
    json!({ "errors": list })
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_string()
}

/// A Cards API card as the sandbox answers it, for a Visa 4111…1111.
struct Expect<'a> {
    id: &'a str,
    customer_id: &'a str,
    exp: (i64, i64),
    fingerprint: &'a str,
    merchant_id: &'a str,
}

fn visa_card(e: &Expect, extra: Value) -> Value {
    with(
        json!({
            "id": e.id, "card_brand": "VISA", "last_4": "1111", "exp_month": e.exp.0, "exp_year": e.exp.1,
            "fingerprint": e.fingerprint, "customer_id": e.customer_id, "merchant_id": e.merchant_id,
            "enabled": true, "card_type": "CREDIT", "prepaid_type": "NOT_PREPAID", "bin": "411111",
            "version": 1, "hsa_fsa": false
        }),
        extra,
    )
}

fn is_card_id(id: &str) -> bool {
    id.strip_prefix("ccof:").is_some_and(|rest| {
        (16..=24).contains(&rest.len()) && rest.chars().all(|c| c.is_ascii_alphanumeric())
    })
}

#[tokio::test]
async fn a_minted_nonce_is_saved_once_listed_retrieved_refused_elsewhere_and_disabled() {
    let sb = start().await;
    let s = Seller::new(&sb, "sq-story-minted");
    let amelia = id_of(
        &s.customer(json!({"given_name": "Amelia", "family_name": "Earhart"}))
            .await,
    );

    // The browser step: the test card becomes a nonce; the card number is never echoed.
    let minted = s.mint(visa()).await;
    let nonce = minted["nonce"].as_str().expect("nonce").to_string();
    assert!(nonce.starts_with("cnon:") && nonce.len() > 20, "{nonce}");
    assert_eq!(
        minted,
        json!({
            "nonce": nonce,
            "card": {"card_brand": "VISA", "last_4": "1111", "exp_month": 11, "exp_year": 2031, "bin": "411111"},
            "expires_at": minted["expires_at"],
        })
    );
    assert!(square_support::is_timestamp(&minted["expires_at"]));
    assert!(!minted.to_string().contains("4111111111111111"));

    let address = json!({"address_line_1": "500 Electric Ave", "locality": "New York", "postal_code": "94103", "country": "US"});
    let request = json!({"card_nonce": nonce, "cardholder_name": "Amelia Earhart", "billing_address": address});
    let saved = s.save(&amelia, request.clone()).await;
    assert_eq!(saved.status, 200, "{:#}", saved.body);
    let card_id = id_of(&saved.body["card"]);
    assert!(is_card_id(&card_id), "{card_id}");
    assert_eq!(
        saved.body,
        json!({"card": {
            "id": card_id, "card_brand": "VISA", "last_4": "1111", "exp_month": 11, "exp_year": 2031,
            "cardholder_name": "Amelia Earhart", "billing_address": address
        }})
    );

    // Idempotent per nonce: the same nonce for the same customer is the same card.
    let again = s.save(&amelia, request).await;
    assert_eq!((again.status, &again.body), (200, &saved.body));

    // The Cards API sees the card saved through the customer endpoint.
    let listed = s.get(&format!("/v2/cards?customer_id={amelia}")).await;
    assert_eq!(listed.status, 200, "{:#}", listed.body);
    let full = &listed.body["cards"][0];
    let fingerprint = full["fingerprint"]
        .as_str()
        .expect("fingerprint")
        .to_string();
    let merchant = full["merchant_id"].as_str().expect("merchant").to_string();
    assert_eq!(merchant.len(), 13);
    assert!(
        merchant
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    );
    let expect = Expect {
        id: &card_id,
        customer_id: &amelia,
        exp: (11, 2031),
        fingerprint: &fingerprint,
        merchant_id: &merchant,
    };
    let card = visa_card(
        &expect,
        json!({"cardholder_name": "Amelia Earhart", "billing_address": address}),
    );
    assert_eq!(listed.body, json!({ "cards": [card] }));

    let retrieved = s.get(&format!("/v2/cards/{card_id}")).await;
    assert_eq!(
        (retrieved.status, &retrieved.body),
        (200, &json!({ "card": card }))
    );

    // The nonce is spent: another customer cannot save it.
    let bob = id_of(&s.customer(json!({"given_name": "Bob"})).await);
    let refused = s.save(&bob, json!({"card_nonce": nonce})).await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.body,
        errors(vec![with(
            err("INVALID_REQUEST_ERROR", "CARD_TOKEN_USED"),
            json!({"detail": "Card nonce already used; please request new nonce."})
        )])
    );

    let disabled = s
        .send(Method::POST, &format!("/v2/cards/{card_id}/disable"), None)
        .await;
    let off = with(card.clone(), json!({"enabled": false, "version": 2}));
    assert_eq!(
        (disabled.status, &disabled.body),
        (200, &json!({ "card": off }))
    );
    // Disabling twice is allowed and changes nothing.
    let twice = s
        .send(Method::POST, &format!("/v2/cards/{card_id}/disable"), None)
        .await;
    assert_eq!((twice.status, &twice.body), (200, &json!({ "card": off })));

    let hidden = s.get(&format!("/v2/cards?customer_id={amelia}")).await;
    assert_eq!((hidden.status, &hidden.body), (200, &json!({})));
    let shown = s
        .get(&format!(
            "/v2/cards?customer_id={amelia}&include_disabled=true"
        ))
        .await;
    assert_eq!(
        (shown.status, &shown.body),
        (200, &json!({ "cards": [off] }))
    );
}

#[tokio::test]
async fn the_sandbox_ok_nonce_is_reusable_and_idempotent_per_customer() {
    let sb = start().await;
    let s = Seller::new(&sb, "sq-story-ok-nonce");
    let amelia = id_of(&s.customer(json!({"given_name": "Amelia"})).await);
    let year = this_year() + 3;

    let saved = s.save(&amelia, json!({"card_nonce": OK_NONCE})).await;
    assert_eq!(saved.status, 200, "{:#}", saved.body);
    let card_id = id_of(&saved.body["card"]);
    assert!(is_card_id(&card_id));
    assert_eq!(
        saved.body,
        json!({"card": {"id": card_id, "card_brand": "VISA", "last_4": "1111", "exp_month": 12, "exp_year": year}})
    );
    let again = s.save(&amelia, json!({"card_nonce": OK_NONCE})).await;
    assert_eq!((again.status, &again.body), (200, &saved.body));

    // Square's sandbox nonce works for every customer, as the official SDKs' tests rely on.
    let bob = id_of(&s.customer(json!({"given_name": "Bob"})).await);
    let bobs = s
        .save(
            &bob,
            json!({"card_nonce": OK_NONCE, "billing_address": {"postal_code": "94103"}}),
        )
        .await;
    assert_eq!(bobs.status, 200, "{:#}", bobs.body);
    let bob_card = id_of(&bobs.body["card"]);
    assert_ne!(bob_card, card_id);

    let listed = s.get(&format!("/v2/cards?customer_id={amelia}")).await;
    let full = &listed.body["cards"][0];
    let (fingerprint, merchant) = (
        full["fingerprint"].as_str().unwrap_or_default().to_string(),
        full["merchant_id"].as_str().unwrap_or_default().to_string(),
    );
    let card = visa_card(
        &Expect {
            id: &card_id,
            customer_id: &amelia,
            exp: (12, year),
            fingerprint: &fingerprint,
            merchant_id: &merchant,
        },
        json!({}),
    );
    assert_eq!(
        (listed.status, &listed.body),
        (200, &json!({ "cards": [card] }))
    );

    // One card number, one fingerprint, whichever customer saved it.
    let bobs_full = s.get(&format!("/v2/cards/{bob_card}")).await;
    assert_eq!(bobs_full.body["card"]["fingerprint"], json!(fingerprint));

    let retrieved = s.get(&format!("/v2/cards/{card_id}")).await;
    assert_eq!(
        (retrieved.status, &retrieved.body),
        (200, &json!({ "card": card }))
    );

    // The sandbox nonces carry postal code 94103: another billing postal code fails AVS.
    let carol = id_of(&s.customer(json!({"given_name": "Carol"})).await);
    let avs = s
        .save(
            &carol,
            json!({"card_nonce": OK_NONCE, "billing_address": {"postal_code": "10003"}}),
        )
        .await;
    assert_eq!(
        (avs.status, &avs.body),
        (
            402,
            &errors(vec![err("PAYMENT_METHOD_ERROR", "VERIFY_AVS_FAILURE")])
        )
    );

    let disabled = s
        .send(Method::POST, &format!("/v2/cards/{card_id}/disable"), None)
        .await;
    let off = with(card, json!({"enabled": false, "version": 2}));
    assert_eq!(
        (disabled.status, &disabled.body),
        (200, &json!({ "card": off }))
    );
}

#[tokio::test]
async fn each_rejected_sandbox_nonce_fails_with_its_card_on_file_error() {
    let sb = start().await;
    let s = Seller::new(&sb, "sq-rejected");
    let amelia = id_of(&s.customer(json!({"given_name": "Amelia"})).await);
    let cases = [
        (
            "cnon:card-nonce-declined",
            402,
            "PAYMENT_METHOD_ERROR",
            "CARD_DECLINED",
            None,
        ),
        (
            "cnon:card-nonce-rejected-cvv",
            402,
            "PAYMENT_METHOD_ERROR",
            "VERIFY_CVV_FAILURE",
            None,
        ),
        (
            "cnon:card-nonce-rejected-postalcode",
            402,
            "PAYMENT_METHOD_ERROR",
            "VERIFY_AVS_FAILURE",
            None,
        ),
        (
            "cnon:card-nonce-rejected-expiration",
            400,
            "PAYMENT_METHOD_ERROR",
            "INVALID_EXPIRATION",
            None,
        ),
        (
            "cnon:card-nonce-already-used",
            400,
            "INVALID_REQUEST_ERROR",
            "CARD_TOKEN_USED",
            Some("Card nonce already used; please request new nonce."),
        ),
    ];
    for (nonce, status, category, code, detail) in cases {
        let a = s.save(&amelia, json!({"card_nonce": nonce})).await;
        let mut e = err(category, code);
        if let Some(d) = detail {
            e = with(e, json!({ "detail": d }));
        }
        assert_eq!((a.status, &a.body), (status, &errors(vec![e])), "{nonce}");
    }
    // The Cards API names a spent source its own way, and points at `source_id`.
    let cases = [
        (
            "cnon:card-nonce-declined",
            402,
            "PAYMENT_METHOD_ERROR",
            "CARD_DECLINED",
            None,
        ),
        (
            "cnon:card-nonce-rejected-cvv",
            402,
            "PAYMENT_METHOD_ERROR",
            "VERIFY_CVV_FAILURE",
            None,
        ),
        (
            "cnon:card-nonce-rejected-postalcode",
            402,
            "PAYMENT_METHOD_ERROR",
            "VERIFY_AVS_FAILURE",
            None,
        ),
        (
            "cnon:card-nonce-rejected-expiration",
            400,
            "PAYMENT_METHOD_ERROR",
            "INVALID_EXPIRATION",
            None,
        ),
        (
            "cnon:card-nonce-already-used",
            400,
            "INVALID_REQUEST_ERROR",
            "SOURCE_USED",
            Some("The provided source id was already used to create a card."),
        ),
    ];
    for (i, (nonce, status, category, code, detail)) in cases.into_iter().enumerate() {
        let a = s
            .post(
                "/v2/cards",
                json!({"idempotency_key": format!("rejected-{i}"), "source_id": nonce, "card": {"customer_id": amelia}}),
            )
            .await;
        let mut e = err(category, code);
        if let Some(d) = detail {
            e = with(e, json!({ "detail": d }));
        }
        e = with(e, json!({"field": "source_id"}));
        assert_eq!((a.status, &a.body), (status, &errors(vec![e])), "{nonce}");
    }
    // Nothing was saved.
    let listed = s.get("/v2/cards?include_disabled=true").await;
    assert_eq!((listed.status, &listed.body), (200, &json!({})));
}

#[tokio::test]
async fn test_card_values_mint_fine_and_fail_when_saved() {
    let sb = start().await;
    let s = Seller::new(&sb, "sq-test-values");
    let amelia = id_of(&s.customer(json!({"given_name": "Amelia"})).await);
    let card = |changes: Value| with(visa(), changes);
    let cases = [
        (
            card(json!({"cvv": "911"})),
            402,
            "PAYMENT_METHOD_ERROR",
            "VERIFY_CVV_FAILURE",
        ),
        (
            card(json!({"postal_code": "99999"})),
            402,
            "PAYMENT_METHOD_ERROR",
            "VERIFY_AVS_FAILURE",
        ),
        (
            card(json!({"exp_month": 1, "exp_year": 2020})),
            400,
            "PAYMENT_METHOD_ERROR",
            "CARD_EXPIRED",
        ),
        (
            card(json!({"exp_month": 1, "exp_year": 2040})),
            400,
            "PAYMENT_METHOD_ERROR",
            "INVALID_EXPIRATION",
        ),
        (
            card(json!({"card_number": "4111111111111112"})),
            400,
            "PAYMENT_METHOD_ERROR",
            "INVALID_CARD",
        ),
        (
            card(json!({"card_number": "4000000000000002"})),
            402,
            "PAYMENT_METHOD_ERROR",
            "CARD_DECLINED",
        ),
    ];
    for (test_card, status, category, code) in cases {
        // Square reports the outcome when the nonce is used, not when the form makes it.
        let minted = s.mint(test_card.clone()).await;
        let a = s
            .save(&amelia, json!({"card_nonce": minted["nonce"]}))
            .await;
        assert_eq!(
            (a.status, &a.body),
            (status, &errors(vec![err(category, code)])),
            "{test_card}"
        );
    }

    // UnionPay's test number fails Luhn and is still a good card.
    let unionpay = s
        .mint(json!({"card_number": "6222988812340000", "exp_month": 3, "exp_year": 2032, "cvv": "123"}))
        .await;
    assert_eq!(
        unionpay["card"],
        json!({"card_brand": "CHINA_UNIONPAY", "last_4": "0000", "exp_month": 3, "exp_year": 2032, "bin": "622298"})
    );
    let saved = s
        .save(
            &amelia,
            json!({"card_nonce": unionpay["nonce"], "billing_address": {"postal_code": "10003"}}),
        )
        .await;
    let id = id_of(&saved.body["card"]);
    assert_eq!(
        (saved.status, &saved.body),
        (
            200,
            &json!({"card": {"id": id, "card_brand": "CHINA_UNIONPAY", "last_4": "0000", "exp_month": 3, "exp_year": 2032, "billing_address": {"postal_code": "10003"}}})
        )
    );

    // Unknown nonces and customers.
    let unknown = s
        .save(&amelia, json!({"card_nonce": "cnon:never-minted"}))
        .await;
    assert_eq!(
        (unknown.status, &unknown.body),
        (
            404,
            &errors(vec![with(
                err("INVALID_REQUEST_ERROR", "NOT_FOUND"),
                json!({"detail": "Card nonce not found"})
            )])
        )
    );
    let nobody = s
        .save("NOSUCHCUSTOMER", json!({"card_nonce": OK_NONCE}))
        .await;
    assert_eq!(
        (nobody.status, &nobody.body),
        (
            404,
            &errors(vec![with(
                err("INVALID_REQUEST_ERROR", "NOT_FOUND"),
                json!({"detail": "Customer with ID `NOSUCHCUSTOMER` not found."})
            )])
        )
    );
    let missing = s.save(&amelia, json!({"cardholder_name": "Amelia"})).await;
    assert_eq!(
        (missing.status, &missing.body),
        (
            400,
            &errors(vec![
                json!({"category": "INVALID_REQUEST_ERROR", "code": "MISSING_REQUIRED_PARAMETER", "detail": "Field must be set", "field": "card_nonce"})
            ])
        )
    );
}

#[tokio::test]
async fn the_nonce_endpoint_needs_a_tenant_and_a_card() {
    let sb = start().await;
    let no_tenant = mint(&sb, None, visa()).await;
    assert_eq!(no_tenant.status, 400);
    assert_eq!(
        no_tenant.body,
        json!({"error": {"status": 400, "message": "name the tenant: send its access token as `Authorization: Bearer <token>` or a `tenant` field"}})
    );
    let bad = mint(
        &sb,
        Some("sq-mint"),
        json!({"card_number": "4111-xxxx", "exp_month": 1, "exp_year": 2030}),
    )
    .await;
    assert_eq!(
        (bad.status, &bad.body),
        (
            400,
            &json!({"error": {"status": 400, "message": "`card_number` must be up to 19 digits (spaces and dashes allowed)"}})
        )
    );
    let month = mint(
        &sb,
        Some("sq-mint"),
        json!({"card_number": "4111111111111111", "exp_month": 13, "exp_year": 2030}),
    )
    .await;
    assert_eq!(
        (month.status, &month.body),
        (
            400,
            &json!({"error": {"status": 400, "message": "`exp_month` must be between 1 and 12"}})
        )
    );

    // A `tenant` field names the seller when no token is sent.
    let by_field = mint(&sb, None, with(visa(), json!({"tenant": "sq-mint"}))).await;
    assert_eq!(by_field.status, 200, "{:#}", by_field.body);
    let s = Seller::new(&sb, "sq-mint");
    let amelia = id_of(&s.customer(json!({"given_name": "Amelia"})).await);
    let saved = s
        .save(&amelia, json!({"card_nonce": by_field.body["nonce"]}))
        .await;
    assert_eq!(saved.status, 200, "{:#}", saved.body);
}

#[tokio::test]
async fn nonces_expire_with_the_sandbox_clock_and_the_lifetime_is_a_setting() {
    let sb = start().await;
    let s = Seller::new(&sb, "sq-expiry");
    let amelia = id_of(&s.customer(json!({"given_name": "Amelia"})).await);

    // Default lifetime: a day.
    let day_old = s.mint(visa()).await;
    sb.sandbox.advance_clock(Duration::from_secs(24 * 3600 + 1));
    let expired = s
        .save(&amelia, json!({"card_nonce": day_old["nonce"]}))
        .await;
    assert_eq!(
        (expired.status, &expired.body),
        (
            400,
            &errors(vec![with(
                err("INVALID_REQUEST_ERROR", "CARD_TOKEN_EXPIRED"),
                json!({"detail": "Card nonce expired; please request new nonce."})
            )])
        )
    );
    let via_cards = s
        .post("/v2/cards", json!({"idempotency_key": "expired-1", "source_id": day_old["nonce"], "card": {"customer_id": amelia}}))
        .await;
    assert_eq!(
        (via_cards.status, &via_cards.body),
        (
            400,
            &errors(vec![
                json!({"category": "INVALID_REQUEST_ERROR", "code": "SOURCE_EXPIRED", "detail": "The provided source id has expired.", "field": "source_id"})
            ])
        )
    );

    let set = sb
        .send(
            Method::POST,
            "/__sandbox/square/settings",
            &[],
            Some(json!({"nonce_ttl_seconds": 60})),
        )
        .await;
    assert_eq!(
        (set.status, &set.body),
        (
            200,
            &json!({"provider": "square", "settings": {"nonce_ttl_seconds": 60}})
        )
    );
    let refused = sb
        .send(
            Method::POST,
            "/__sandbox/square/settings",
            &[],
            Some(json!({"nonce_ttl_seconds": 0})),
        )
        .await;
    assert_eq!(
        (refused.status, &refused.body),
        (
            400,
            &json!({"error": {"status": 400, "message": "nonce_ttl_seconds must be a positive integer"}})
        )
    );
    let unknown = sb
        .send(
            Method::POST,
            "/__sandbox/square/settings",
            &[],
            Some(json!({"nonce_ttl": 5})),
        )
        .await;
    assert_eq!(
        (unknown.status, &unknown.body),
        (
            400,
            &json!({"error": {"status": 400, "message": "square has no setting `nonce_ttl` (known: access_tokens, nonce_ttl_seconds, webhooks)"}})
        )
    );

    let short = s.mint(visa()).await;
    let fresh = s.mint(visa()).await;
    sb.sandbox.advance_clock(Duration::from_secs(30));
    let in_time = s.save(&amelia, json!({"card_nonce": fresh["nonce"]})).await;
    assert_eq!(in_time.status, 200, "{:#}", in_time.body);
    sb.sandbox.advance_clock(Duration::from_secs(31));
    let late = s.save(&amelia, json!({"card_nonce": short["nonce"]})).await;
    assert_eq!(late.status, 400);
    assert_eq!(late.body["errors"][0]["code"], json!("CARD_TOKEN_EXPIRED"));
}

fn create_card_body(key: &str, nonce: &Value, customer: &str, reference: &str) -> Value {
    json!({
        "idempotency_key": key,
        "source_id": nonce,
        "card": {"customer_id": customer, "cardholder_name": "Amelia Earhart", "reference_id": reference,
                 "billing_address": {"postal_code": "94103", "country": "US"}}
    })
}

#[tokio::test]
async fn create_card_replays_a_key_refuses_its_reuse_and_creates_once_under_concurrency() {
    let sb = start().await;
    let s = Seller::new(&sb, "sq-create-card");
    let amelia = id_of(&s.customer(json!({"given_name": "Amelia"})).await);
    let minted = s.mint(visa()).await;
    let body = create_card_body("key-1", &minted["nonce"], &amelia, "user-1");

    let first = s.post("/v2/cards", body.clone()).await;
    assert_eq!(first.status, 200, "{:#}", first.body);
    let c = &first.body["card"];
    let id = id_of(c);
    assert!(is_card_id(&id));
    let expect = Expect {
        id: &id,
        customer_id: &amelia,
        exp: (11, 2031),
        fingerprint: c["fingerprint"].as_str().unwrap_or_default(),
        merchant_id: c["merchant_id"].as_str().unwrap_or_default(),
    };
    assert_eq!(
        first.body,
        json!({"card": visa_card(&expect, json!({"cardholder_name": "Amelia Earhart", "reference_id": "user-1",
            "billing_address": {"postal_code": "94103", "country": "US"}}))})
    );

    let replay = s.post("/v2/cards", body).await;
    assert_eq!((replay.status, &replay.body), (200, &first.body));

    let reused = s
        .post(
            "/v2/cards",
            create_card_body("key-1", &minted["nonce"], &amelia, "user-2"),
        )
        .await;
    assert_eq!(
        (reused.status, &reused.body),
        (
            400,
            &errors(vec![
                json!({"category": "INVALID_REQUEST_ERROR", "code": "IDEMPOTENCY_KEY_REUSED",
            "detail": "The idempotency key can only be retried with the same request data.", "field": "idempotency_key"})
            ])
        )
    );
    // A new key cannot spend the nonce twice.
    let spent = s
        .post(
            "/v2/cards",
            create_card_body("key-2", &minted["nonce"], &amelia, "user-1"),
        )
        .await;
    assert_eq!(
        (spent.status, &spent.body),
        (
            400,
            &errors(vec![
                json!({"category": "INVALID_REQUEST_ERROR", "code": "SOURCE_USED",
            "detail": "The provided source id was already used to create a card.", "field": "source_id"})
            ])
        )
    );
    let stranger = s
        .post(
            "/v2/cards",
            create_card_body("key-3", &json!(OK_NONCE), "NOBODY", "x"),
        )
        .await;
    assert_eq!(
        (stranger.status, &stranger.body),
        (
            400,
            &errors(vec![
                json!({"category": "INVALID_REQUEST_ERROR", "code": "CUSTOMER_NOT_FOUND",
            "detail": "Customer not found.", "field": "card.customer_id"})
            ])
        )
    );
    let unknown = s
        .post(
            "/v2/cards",
            create_card_body("key-4", &json!("cnon:nothing"), &amelia, "x"),
        )
        .await;
    assert_eq!(
        (unknown.status, &unknown.body),
        (
            400,
            &errors(vec![
                json!({"category": "INVALID_REQUEST_ERROR", "code": "INVALID_CARD_DATA",
            "detail": "Invalid card data.", "field": "source_id"})
            ])
        )
    );

    // Twenty clients retry one request at once: one card.
    let fresh = s.mint(visa()).await;
    let body = create_card_body("key-concurrent", &fresh["nonce"], &amelia, "user-9");
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let req = sb
            .client
            .post(sb.url("/v2/cards"))
            .header("authorization", "Bearer sq-create-card")
            .json(&body);
        set.spawn(async move { common::Answer::read(req.send().await.expect("sent")).await });
    }
    let mut bodies = Vec::new();
    while let Some(answer) = set.join_next().await {
        let answer = answer.expect("task");
        assert_eq!(answer.status, 200, "{:#}", answer.body);
        bodies.push(answer.body);
    }
    assert!(bodies.iter().all(|b| b == &bodies[0]));
    let listed = s
        .get(&format!(
            "/v2/cards?customer_id={amelia}&reference_id=user-9"
        ))
        .await;
    assert_eq!(
        (listed.status, &listed.body),
        (200, &json!({"cards": [bodies[0]["card"]]}))
    );
}

#[tokio::test]
async fn sixty_cards_come_back_in_pages_of_twenty_five() {
    let sb = start().await;
    let s = Seller::new(&sb, "sq-paging");
    let amelia = id_of(&s.customer(json!({"given_name": "Amelia"})).await);
    let mut ids = Vec::new();
    for i in 0..60 {
        let a = s
            .post("/v2/cards", json!({"idempotency_key": format!("page-{i}"), "source_id": OK_NONCE, "card": {"customer_id": amelia}}))
            .await;
        assert_eq!(a.status, 200, "{:#}", a.body);
        ids.push(id_of(&a.body["card"]));
    }
    let page_ids = |body: &Value| -> Vec<String> {
        body["cards"]
            .as_array()
            .map(|a| a.iter().map(id_of).collect())
            .unwrap_or_default()
    };
    let first = s.get("/v2/cards").await;
    assert_eq!(first.status, 200);
    assert_eq!(page_ids(&first.body), ids[..25].to_vec());
    let cursor = first.body["cursor"].as_str().expect("a cursor").to_string();
    assert_eq!(first.body.as_object().map(|o| o.len()), Some(2));
    let second = s.get(&format!("/v2/cards?cursor={cursor}")).await;
    assert_eq!(page_ids(&second.body), ids[25..50].to_vec());
    let cursor = second.body["cursor"]
        .as_str()
        .expect("a cursor")
        .to_string();
    let last = s.get(&format!("/v2/cards?cursor={cursor}")).await;
    assert_eq!(page_ids(&last.body), ids[50..].to_vec());
    assert_eq!(last.body.get("cursor"), None);
    assert_eq!(last.body.as_object().map(|o| o.len()), Some(1));

    let newest_first = s.get("/v2/cards?sort_order=DESC").await;
    let mut reversed = ids.clone();
    reversed.reverse();
    assert_eq!(page_ids(&newest_first.body), reversed[..25].to_vec());

    let bad = s.get("/v2/cards?cursor=nonsense").await;
    assert_eq!(
        (bad.status, &bad.body),
        (
            400,
            &errors(vec![
                json!({"category": "INVALID_REQUEST_ERROR", "code": "INVALID_CURSOR",
            "detail": "The pagination cursor included in the request is invalid.", "field": "cursor"})
            ])
        )
    );
}

#[tokio::test]
async fn sellers_never_see_each_others_customers_cards_or_nonces() {
    let sb = start().await;
    let a = Seller::new(&sb, "sq-tenant-a");
    let b = Seller::new(&sb, "sq-tenant-b");
    let amelia = id_of(&a.customer(json!({"given_name": "Amelia"})).await);
    let minted = a.mint(visa()).await;
    let card = a
        .save(&amelia, json!({"card_nonce": minted["nonce"]}))
        .await;
    let card_id = id_of(&card.body["card"]);

    let customer = b.get(&format!("/v2/customers/{amelia}")).await;
    assert_eq!(
        (customer.status, &customer.body),
        (
            404,
            &errors(vec![
                json!({"category": "INVALID_REQUEST_ERROR", "code": "NOT_FOUND",
            "detail": format!("Customer with ID `{amelia}` not found.")})
            ])
        )
    );
    let retrieved = b.get(&format!("/v2/cards/{card_id}")).await;
    assert_eq!(
        (retrieved.status, &retrieved.body),
        (
            404,
            &errors(vec![
                json!({"category": "INVALID_REQUEST_ERROR", "code": "NOT_FOUND", "detail": "Card on file not found"})
            ])
        )
    );
    let listed = b.get("/v2/cards").await;
    assert_eq!((listed.status, &listed.body), (200, &json!({})));
    let customers = b.get("/v2/customers").await;
    assert_eq!((customers.status, &customers.body), (200, &json!({})));
    let bob = id_of(&b.customer(json!({"given_name": "Bob"})).await);
    let nonce = b.save(&bob, json!({"card_nonce": minted["nonce"]})).await;
    assert_eq!(
        (nonce.status, &nonce.body),
        (
            404,
            &errors(vec![
                json!({"category": "INVALID_REQUEST_ERROR", "code": "NOT_FOUND", "detail": "Card nonce not found"})
            ])
        )
    );
    // Each seller has its own merchant id.
    let ok = b
        .post(
            "/v2/cards",
            json!({"idempotency_key": "k", "source_id": OK_NONCE, "card": {"customer_id": bob}}),
        )
        .await;
    let theirs = a.get(&format!("/v2/cards/{card_id}")).await;
    assert_ne!(
        ok.body["card"]["merchant_id"],
        theirs.body["card"]["merchant_id"]
    );
}

#[tokio::test]
async fn deleting_a_customer_card_takes_it_off_file() {
    let sb = start().await;
    let s = Seller::new(&sb, "sq-delete-card");
    let amelia = id_of(&s.customer(json!({"given_name": "Amelia"})).await);
    let saved = s.save(&amelia, json!({"card_nonce": OK_NONCE})).await;
    let card_id = id_of(&saved.body["card"]);
    let path = format!("/v2/customers/{amelia}/cards/{card_id}");

    let deleted = s.send(Method::DELETE, &path, None).await;
    assert_eq!((deleted.status, &deleted.body), (200, &json!({})));
    let again = s.send(Method::DELETE, &path, None).await;
    assert_eq!(
        (again.status, &again.body),
        (
            404,
            &errors(vec![
                json!({"category": "INVALID_REQUEST_ERROR", "code": "NOT_FOUND", "detail": "Card on file not found"})
            ])
        )
    );
    let listed = s.get(&format!("/v2/cards?customer_id={amelia}")).await;
    assert_eq!((listed.status, &listed.body), (200, &json!({})));
    // Square keeps the record, disabled.
    let record = s.get(&format!("/v2/cards/{card_id}")).await;
    assert_eq!(record.body["card"]["enabled"], json!(false));
    assert_eq!(record.body["card"]["version"], json!(2));
    // A new save of the sandbox nonce makes a new card.
    let resaved = s.save(&amelia, json!({"card_nonce": OK_NONCE})).await;
    assert_ne!(id_of(&resaved.body["card"]), card_id);
}
