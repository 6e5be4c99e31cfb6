//! The sandbox's Square answers against Square's own OpenAPI document (`api.json`), not just
//! paysandbox's spec. Every request the Square tests send through `square_support::Seller`
//! is checked this way; this file shows the check has teeth and runs a tour of every
//! operation, successes and failures, through it.

mod common;
mod square_support;

use reqwest::Method;
use serde_json::json;
use square_support::{OK_NONCE, Seller, official, start, visa};

#[test]
fn the_official_check_refuses_what_square_would_not_send() {
    let Some(official) = official() else {
        eprintln!("skipped: Square's api.json is not beside the crate");
        return;
    };
    let good = json!({"card": {"id": "ccof:abc", "card_brand": "VISA", "exp_month": 11}});
    assert_eq!(
        official.check(&Method::GET, "/v2/cards/ccof:abc", &good),
        Ok(())
    );
    for bad in [
        json!({"card": {"card_brand": "VISA_PLATINUM"}}),
        json!({"card": {"exp_month": "11"}}),
        json!({"card": {"last_4": "11111"}}),
        json!({"errors": [{"category": "NOPE", "code": "NOT_FOUND"}]}),
    ] {
        assert!(
            official
                .check(&Method::GET, "/v2/cards/ccof:abc", &bad)
                .is_err(),
            "{bad}"
        );
    }
    assert!(
        official
            .check(
                &Method::POST,
                "/v2/customers/search",
                &json!({"customers": [{"version": "1"}]})
            )
            .is_err()
    );
}

#[tokio::test]
async fn every_operation_answers_within_the_official_response_types() {
    let sb = start().await;
    // An old Square-Version, so customers also carry their retired `cards`.
    let s = Seller::new(&sb, "sq-official").with_version("2024-06-04");
    let c = s
        .customer(json!({"given_name": "Amelia", "family_name": "Earhart", "email_address": "amelia@example.com",
            "phone_number": "+1-212-555-4240", "birthday": "07-24", "address": {"postal_code": "94103", "country": "US"},
            "tax_ids": {"eu_vat": "IE3426675K"}, "reference_id": "r-1", "note": "n"}))
        .await;
    let id = c["id"].as_str().unwrap_or_default().to_string();
    let minted = s.mint(visa()).await;
    let saved = s
        .save(
            &id,
            json!({"card_nonce": minted["nonce"], "cardholder_name": "Amelia"}),
        )
        .await;
    let card_id = saved.body["card"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let created = s
        .post("/v2/cards", json!({"idempotency_key": "k", "source_id": OK_NONCE, "card": {"customer_id": id, "reference_id": "x"}}))
        .await;
    assert_eq!(created.status, 200);
    // Each answer below went through the official check inside `Seller::send`.
    let answers = vec![
        s.get(&format!("/v2/customers/{id}")).await,
        s.get("/v2/customers?count=true&limit=1").await,
        s.post(
            "/v2/customers/search",
            json!({"query": {"filter": {"email_address": {"fuzzy": "example"}}}, "count": true}),
        )
        .await,
        s.send(
            Method::PUT,
            &format!("/v2/customers/{id}"),
            Some(json!({"note": null, "version": 0})),
        )
        .await,
        s.send(
            Method::PUT,
            &format!("/v2/customers/{id}"),
            Some(json!({"version": 0})),
        )
        .await,
        s.get("/v2/cards?include_disabled=true").await,
        s.get(&format!("/v2/cards/{card_id}")).await,
        s.send(Method::POST, &format!("/v2/cards/{card_id}/disable"), None)
            .await,
        s.save(&id, json!({"card_nonce": "cnon:card-nonce-rejected-cvv"}))
            .await,
        s.save(&id, json!({"card_nonce": 12})).await,
        s.post("/v2/customers", json!({})).await,
        s.get("/v2/cards/nope").await,
        s.send(
            Method::DELETE,
            &format!("/v2/customers/{id}/cards/{card_id}"),
            None,
        )
        .await,
        s.send(Method::DELETE, &format!("/v2/customers/{id}"), None)
            .await,
    ];
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(
        statuses,
        vec![
            200, 200, 200, 200, 409, 200, 200, 200, 402, 400, 400, 404, 404, 200
        ]
    );
    // The profile carried its card for the old version.
    assert_eq!(
        answers[0].body["customer"]["cards"][0]["id"],
        json!(card_id)
    );
}
