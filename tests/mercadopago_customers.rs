//! Mercado Pago customers, tenants and idempotency, over HTTP against a strict sandbox.

mod common;
mod mp;

use mp::*;
use reqwest::Method;
use serde_json::{Value, json};

fn expected_customer(body: &Value, email: &str, status: &str) -> Value {
    let created = mp_time(&body["date_created"]);
    json!({
        "id": str_of(&body["id"]),
        "email": email,
        "first_name": "Ana",
        "last_name": "Silva",
        "phone": {"area_code": "11", "number": "987654321"},
        "identification": {"type": "CPF", "number": "12345678909"},
        "address": {"id": null, "zip_code": "01234567", "street_name": "Rua Exemplo", "street_number": 123},
        "addresses": [],
        "default_address": null,
        "default_card": null,
        "date_registered": "2021-10-20T11:37:30.000-04:00",
        "date_created": created,
        "date_last_updated": mp_time(&body["date_last_updated"]),
        "description": null,
        "metadata": {"source": "story"},
        "cards": [],
        "user_id": ALICE_USER,
        "merchant_id": ALICE_USER,
        "client_id": ALICE_CLIENT,
        "status": status,
        "live_mode": false
    })
}

fn ana(email: &str) -> Value {
    json!({
        "email": email,
        "first_name": "Ana",
        "last_name": "Silva",
        "phone": {"area_code": "11", "number": "987654321"},
        "identification": {"type": "CPF", "number": "12345678909"},
        "address": {"zip_code": "01234567", "street_name": "Rua Exemplo", "street_number": 123},
        "date_registered": "2021-10-20T11:37:30.000-04:00",
        "metadata": {"source": "story"}
    })
}

#[tokio::test]
async fn a_customer_is_created_found_updated_and_deleted() {
    let sb = common::start().await;
    let a = call(
        &sb,
        Method::POST,
        "/v1/customers",
        ALICE,
        Some(ana("ana@example.com")),
    )
    .await;
    assert_eq!(a.status, 201);
    let customer = expected_customer(&a.body, "ana@example.com", "active");
    assert_eq!(a.body, customer);
    let id = str_of(&a.body["id"]);

    let got = call(
        &sb,
        Method::GET,
        &format!("/v1/customers/{id}"),
        ALICE,
        None,
    )
    .await;
    assert_eq!((got.status, got.body), (200, customer.clone()));

    let found = call(
        &sb,
        Method::GET,
        "/v1/customers/search?email=ANA@example.com",
        ALICE,
        None,
    )
    .await;
    assert_eq!(
        (found.status, found.body),
        (
            200,
            json!({"paging": {"total": 1, "limit": 30, "offset": 0}, "results": [customer.clone()]})
        )
    );

    let upd = call(
        &sb,
        Method::PUT,
        &format!("/v1/customers/{id}"),
        ALICE,
        Some(json!({"first_name": "Bruna", "phone": {"number": "912345678"}})),
    )
    .await;
    assert_eq!(upd.status, 200);
    let mut updated = customer.clone();
    updated["first_name"] = json!("Bruna");
    updated["phone"] = json!({"area_code": "11", "number": "912345678"});
    updated["date_last_updated"] = json!(mp_time(&upd.body["date_last_updated"]));
    assert_eq!(upd.body, updated);

    let email = call(
        &sb,
        Method::PUT,
        &format!("/v1/customers/{id}"),
        ALICE,
        Some(json!({"email": "other@example.com"})),
    )
    .await;
    assert_eq!(
        (email.status, email.body),
        (
            400,
            bad_request("126", "invalid parameter. You cannot update the email.")
        )
    );

    let del = call(
        &sb,
        Method::DELETE,
        &format!("/v1/customers/{id}"),
        ALICE,
        None,
    )
    .await;
    assert_eq!(del.status, 200);
    let mut deleted = updated.clone();
    deleted["status"] = json!("deactive");
    deleted["date_last_updated"] = json!(mp_time(&del.body["date_last_updated"]));
    assert_eq!(del.body, deleted);
    let gone = call(
        &sb,
        Method::GET,
        &format!("/v1/customers/{id}"),
        ALICE,
        None,
    )
    .await;
    assert_eq!((gone.status, gone.body), (404, customer_not_found()));
}

#[tokio::test]
async fn emails_are_unique_per_account_and_must_look_like_emails() {
    let sb = common::start().await;
    create_customer(&sb, ALICE, "dup@example.com").await;
    let dup = call(
        &sb,
        Method::POST,
        "/v1/customers",
        ALICE,
        Some(json!({"email": "DUP@example.com"})),
    )
    .await;
    assert_eq!(
        (dup.status, dup.body),
        (400, bad_request("101", "the customer already exist."))
    );
    // Another account may use the same email.
    create_customer(&sb, BOB, "dup@example.com").await;

    let bad = call(
        &sb,
        Method::POST,
        "/v1/customers",
        ALICE,
        Some(json!({"email": "not-an-email"})),
    )
    .await;
    assert_eq!(
        (bad.status, bad.body),
        (400, bad_request("106", "the email format is invalid."))
    );

    let name = call(
        &sb,
        Method::POST,
        "/v1/customers",
        ALICE,
        Some(json!({"email": "n@example.com", "first_name": 42})),
    )
    .await;
    assert_eq!(
        (name.status, name.body),
        (400, bad_request("107", "the first_name is invalid."))
    );

    let date = call(
        &sb,
        Method::POST,
        "/v1/customers",
        ALICE,
        Some(json!({"email": "d@example.com", "date_registered": "last tuesday"})),
    )
    .await;
    assert_eq!(
        (date.status, date.body),
        (
            400,
            bad_request("115", "the date_registered format is invalid.")
        )
    );
    let impossible = call(
        &sb,
        Method::POST,
        "/v1/customers",
        ALICE,
        Some(json!({"email": "d@example.com", "date_registered": "2021-02-30T00:00:00Z"})),
    )
    .await;
    assert_eq!(
        (impossible.status, impossible.body),
        (
            400,
            bad_request("115", "the date_registered format is invalid.")
        )
    );
    // A year no timestamp can show is refused too, not answered as `10000-01-01T...`.
    for far in ["0000-01-01", "9999-12-31T23:00:00-05:00"] {
        let refused = call(
            &sb,
            Method::POST,
            "/v1/customers",
            ALICE,
            Some(json!({"email": "d@example.com", "date_registered": far})),
        )
        .await;
        assert_eq!(refused.status, 400, "{far}: {}", refused.body);
    }

    // Mercado Pago answers 106 for what the spec's `format: email` refuses.
    for email in [
        "a@x..com",
        ".a@x.com",
        "a@-x.com",
        "a@x.c_m",
        "\"a\"@x.com",
        "a\u{0}@x.com",
    ] {
        let bad = call(
            &sb,
            Method::POST,
            "/v1/customers",
            ALICE,
            Some(json!({ "email": email })),
        )
        .await;
        assert_eq!(
            (bad.status, bad.body),
            (400, bad_request("106", "the email format is invalid.")),
            "{email:?}"
        );
    }
}

#[tokio::test]
async fn date_registered_in_any_iso_form_is_answered_as_a_date_time() {
    let sb = common::start().await;
    for (n, (sent, answered)) in [
        ("2021-10-20", "2021-10-19T20:00:00.000-04:00"),
        ("2021-10-20T11:37:30", "2021-10-20T07:37:30.000-04:00"),
        ("2021-10-20 11:37:30", "2021-10-20T07:37:30.000-04:00"),
        (
            "2021-10-20T11:37:30.000-04:00",
            "2021-10-20T11:37:30.000-04:00",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let created = call(
            &sb,
            Method::POST,
            "/v1/customers",
            ALICE,
            Some(json!({"email": format!("r{n}@example.com"), "date_registered": sent})),
        )
        .await;
        assert_eq!(created.status, 201, "{sent}: {}", created.body);
        assert_eq!(created.body["date_registered"], json!(answered), "{sent}");
    }

    // A seed is read the same way.
    let seed = |date: &str| {
        json!({"provider": "mercadopago", "tenant": ALICE.trim_start_matches("Bearer "),
               "state": {"customers": [{"id": "9-SEEDED", "email": "seed@example.com", "date_registered": date}]}})
    };
    let seeded = sb
        .send(
            Method::POST,
            "/__sandbox/state",
            &[],
            Some(seed("2021-10-20")),
        )
        .await;
    assert_eq!(seeded.status, 200, "{}", seeded.body);
    let read = call(&sb, Method::GET, "/v1/customers/9-SEEDED", ALICE, None).await;
    assert_eq!(
        read.body["date_registered"],
        json!("2021-10-19T20:00:00.000-04:00")
    );
    let refused = sb
        .send(
            Method::POST,
            "/__sandbox/state",
            &[],
            Some(seed("last tuesday")),
        )
        .await;
    assert_eq!(
        (refused.status, refused.body),
        (
            400,
            json!({"error": {"status": 400, "message": "mercadopago state: customers[0].date_registered: \"last tuesday\" is not a date or date-time from 1900 to 8999"}})
        )
    );
}

#[tokio::test]
async fn strict_test_emails_makes_test_credentials_use_test_payer_emails() {
    let sb = common::start().await;
    create_customer(&sb, ALICE, "plain@example.com").await;
    let s = sb
        .send(
            Method::POST,
            "/__sandbox/mercadopago/settings",
            &[],
            Some(json!({"strict_test_emails": true})),
        )
        .await;
    assert_eq!(s.status, 200);
    let refused = call(
        &sb,
        Method::POST,
        "/v1/customers",
        ALICE,
        Some(json!({"email": "other@example.com"})),
    )
    .await;
    assert_eq!(
        (refused.status, refused.body),
        (
            400,
            bad_request(
                "128",
                "the email format is invalid. Use 'test_payer_[0-9]{1,10}@testuser.com'."
            )
        )
    );
    create_customer(&sb, ALICE, "test_payer_12345@testuser.com").await;
    // Production credentials are not test users.
    create_customer(&sb, "APP_USR-1-2-3-987654321", "other@example.com").await;
}

#[tokio::test]
async fn search_pages_and_sorts() {
    let sb = common::start().await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(str_of(
            &create_customer(&sb, ALICE, &format!("p{n}@example.com")).await["id"],
        ));
    }
    let page = call(
        &sb,
        Method::GET,
        "/v1/customers/search?limit=2&offset=1",
        ALICE,
        None,
    )
    .await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.body["paging"],
        json!({"total": 5, "limit": 2, "offset": 1})
    );
    let got: Vec<Value> = page.body["results"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|c| c["id"].clone())
        .collect();
    assert_eq!(got, vec![json!(ids[1]), json!(ids[2])]);

    let desc = call(
        &sb,
        Method::GET,
        "/v1/customers/search?sort=email:desc&limit=1",
        ALICE,
        None,
    )
    .await;
    assert_eq!(desc.body["results"][0]["email"], "p4@example.com");

    let bad = call(
        &sb,
        Method::GET,
        "/v1/customers/search?sort=email:sideways",
        ALICE,
        None,
    )
    .await;
    assert_eq!(
        (bad.status, bad.body),
        (
            400,
            bad_request("207", "order filter must be 'asc' or 'desc'.")
        )
    );
    let attr = call(
        &sb,
        Method::GET,
        "/v1/customers/search?sort=colour:asc",
        ALICE,
        None,
    )
    .await;
    assert_eq!(
        (attr.status, attr.body),
        (
            400,
            bad_request(
                "206",
                "attributes to sort must belong to 'customer' entity."
            )
        )
    );
    let none = call(
        &sb,
        Method::GET,
        "/v1/customers/search?email=nobody@example.com",
        ALICE,
        None,
    )
    .await;
    assert_eq!(
        none.body,
        json!({"paging": {"total": 0, "limit": 30, "offset": 0}, "results": []})
    );
}

#[tokio::test]
async fn another_access_token_sees_none_of_the_data() {
    let sb = common::start().await;
    let cid = str_of(&create_customer(&sb, ALICE, "private@example.com").await["id"]);
    let saved = save_card(
        &sb,
        ALICE,
        &cid,
        &card_token(&sb, ALICE, VISA_MLB, "APRO").await,
    )
    .await;
    let card_id = str_of(&saved.body["id"]);

    for path in [
        format!("/v1/customers/{cid}"),
        format!("/v1/customers/{cid}/cards"),
        format!("/v1/customers/{cid}/cards/{card_id}"),
    ] {
        let a = call(&sb, Method::GET, &path, BOB, None).await;
        assert_eq!((a.status, a.body), (404, customer_not_found()), "{path}");
    }
    let del = call(
        &sb,
        Method::DELETE,
        &format!("/v1/customers/{cid}"),
        BOB,
        None,
    )
    .await;
    assert_eq!((del.status, del.body), (404, customer_not_found()));
    let search = call(
        &sb,
        Method::GET,
        "/v1/customers/search?email=private@example.com",
        BOB,
        None,
    )
    .await;
    assert_eq!(search.body["paging"]["total"], 0);
    // Alice still has everything.
    let a = call(
        &sb,
        Method::GET,
        &format!("/v1/customers/{cid}/cards"),
        ALICE,
        None,
    )
    .await;
    assert_eq!(a.body.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn live_mode_follows_the_credential() {
    let sb = common::start().await;
    let prod = "APP_USR-8237283748732847-052210-aa-448870796";
    let c = create_customer(&sb, prod, "live@example.com").await;
    assert_eq!(c["live_mode"], true);
    assert_eq!(c["user_id"], ALICE_USER);
    let cid = str_of(&c["id"]);
    let saved = save_card(
        &sb,
        prod,
        &cid,
        &card_token(&sb, prod, VISA_MLB, "APRO").await,
    )
    .await;
    assert_eq!(saved.body["live_mode"], true);
    assert_eq!(
        create_customer(&sb, ALICE, "test@example.com").await["live_mode"],
        false
    );
}

#[tokio::test]
async fn missing_or_malformed_credentials_are_refused() {
    let sb = common::start().await;
    let none = sb
        .send(Method::GET, "/v1/customers/search", &[], None)
        .await;
    assert_eq!(none.status, 401);
    assert_eq!(
        none.body["cause"],
        json!([{"code": 5, "description": "Must provide your access_token to proceed", "data": null}])
    );
    let wrong = call(
        &sb,
        Method::GET,
        "/v1/customers/search",
        "sk_test_123",
        None,
    )
    .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.body["message"], "invalid access token");
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_creation_and_refuses_another_request() {
    let sb = common::start().await;
    let auth = bearer(ALICE);
    let headers = [
        ("Authorization", auth.as_str()),
        ("X-Idempotency-Key", "key-1"),
    ];
    let first = sb
        .send(
            Method::POST,
            "/v1/customers",
            &headers,
            Some(json!({"email": "once@example.com"})),
        )
        .await;
    assert_eq!(first.status, 201);
    let replay = sb
        .send(
            Method::POST,
            "/v1/customers",
            &headers,
            Some(json!({"email": "once@example.com"})),
        )
        .await;
    assert_eq!((replay.status, replay.body), (201, first.body.clone()));
    let search = call(&sb, Method::GET, "/v1/customers/search", ALICE, None).await;
    assert_eq!(search.body["paging"]["total"], 1);

    let conflict = sb
        .send(
            Method::POST,
            "/v1/customers",
            &headers,
            Some(json!({"email": "twice@example.com"})),
        )
        .await;
    assert_eq!(
        (conflict.status, conflict.body),
        (
            409,
            json!({"message": "The idempotency key was already used with a different request.", "error": "conflict", "status": 409, "cause": []})
        )
    );

    // Keys on reads are accepted and ignored (the Python SDK sends one on every request).
    let cid = str_of(&first.body["id"]);
    let get_headers = [
        ("Authorization", auth.as_str()),
        ("X-Idempotency-Key", "key-1"),
    ];
    let got = sb
        .send(
            Method::GET,
            &format!("/v1/customers/{cid}"),
            &get_headers,
            None,
        )
        .await;
    assert_eq!((got.status, got.body), (200, first.body.clone()));

    // A replayed save answers the same card and does not trip over the used token.
    let token = card_token(&sb, ALICE, VISA_MLB, "APRO").await;
    let save_headers = [
        ("Authorization", auth.as_str()),
        ("X-Idempotency-Key", "save-1"),
    ];
    let path = format!("/v1/customers/{cid}/cards");
    let saved = sb
        .send(
            Method::POST,
            &path,
            &save_headers,
            Some(json!({"token": token})),
        )
        .await;
    let again = sb
        .send(
            Method::POST,
            &path,
            &save_headers,
            Some(json!({"token": token})),
        )
        .await;
    assert_eq!(
        (saved.status, again.status, again.body),
        (201, 201, saved.body)
    );
    // Another account's identical key is its own.
    let bob = bearer(BOB);
    let bob_headers = [
        ("Authorization", bob.as_str()),
        ("X-Idempotency-Key", "key-1"),
    ];
    let b = sb
        .send(
            Method::POST,
            "/v1/customers",
            &bob_headers,
            Some(json!({"email": "twice@example.com"})),
        )
        .await;
    assert_eq!(b.status, 201);
}
