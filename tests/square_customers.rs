//! Square customer profiles over HTTP, plus what every Square request shares: the bearer
//! token and the Square-Version header.

mod common;
mod square_support;

use reqwest::Method;
use serde_json::{Value, json};
use square_support::{OK_NONCE, Seller, is_timestamp, start};

fn errors(list: Value) -> Value {
    json!({ "errors": list })
}

/// A fresh profile as Square answers it: the sent fields plus the generated ones.
fn profile(id: &str, at: &str, fields: Value) -> Value {
    let mut out = json!({
        "id": id, "created_at": at, "updated_at": at, "preferences": {"email_unsubscribed": false},
        "creation_source": "THIRD_PARTY", "version": 0
    });
    if let (Some(o), Some(f)) = (out.as_object_mut(), fields.as_object()) {
        for (k, v) in f {
            o.insert(k.clone(), v.clone());
        }
    }
    out
}

#[tokio::test]
async fn a_customer_is_created_read_updated_and_deleted() {
    let sb = start().await;
    let s = Seller::new(&sb, "sq-customer-story");
    let fields = json!({
        "given_name": "Amelia", "family_name": "Earhart", "email_address": "Amelia.Earhart@example.com",
        "phone_number": "+1-212-555-4240", "reference_id": "YOUR_REFERENCE_ID", "note": "a customer",
        "address": {"address_line_1": "500 Electric Ave", "locality": "New York", "postal_code": "10003", "country": "US"}
    });
    let created = s.post("/v2/customers", fields.clone()).await;
    assert_eq!(created.status, 200, "{:#}", created.body);
    let c = &created.body["customer"];
    let id = c["id"].as_str().expect("id").to_string();
    assert_eq!(id.len(), 26);
    assert!(
        id.chars()
            .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit())
    );
    assert!(is_timestamp(&c["created_at"]));
    let at = c["created_at"].as_str().unwrap_or_default().to_string();
    let expected = profile(&id, &at, fields.clone());
    assert_eq!(created.body, json!({ "customer": expected }));

    let read = s.get(&format!("/v2/customers/{id}")).await;
    assert_eq!((read.status, &read.body), (200, &created.body));

    // Sparse update: `null` removes a field, others stay; the version moves on.
    let updated = s
        .send(Method::PUT, &format!("/v2/customers/{id}"),
            Some(json!({"email_address": "New.Amelia@example.com", "phone_number": null, "birthday": "1897-07-24", "version": 0})))
        .await;
    assert_eq!(updated.status, 200, "{:#}", updated.body);
    let later = updated.body["customer"]["updated_at"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(later >= at);
    let mut after = expected.clone();
    let o = after.as_object_mut().expect("object");
    o.remove("phone_number");
    o.insert("email_address".into(), json!("New.Amelia@example.com"));
    o.insert("birthday".into(), json!("1897-07-24"));
    o.insert("version".into(), json!(1));
    o.insert("updated_at".into(), json!(later));
    assert_eq!(updated.body, json!({ "customer": after }));

    // A stale version is a conflict, for updates and deletes alike.
    let stale = s
        .send(
            Method::PUT,
            &format!("/v2/customers/{id}"),
            Some(json!({"note": "x", "version": 0})),
        )
        .await;
    let conflict = errors(
        json!([{"category": "INVALID_REQUEST_ERROR", "code": "CONFLICT",
        "detail": "The customer has version 1; the request was made against version 0.", "field": "version"}]),
    );
    assert_eq!((stale.status, &stale.body), (409, &conflict));
    let stale_delete = s
        .send(
            Method::DELETE,
            &format!("/v2/customers/{id}?version=0"),
            None,
        )
        .await;
    assert_eq!((stale_delete.status, &stale_delete.body), (409, &conflict));

    let deleted = s
        .send(
            Method::DELETE,
            &format!("/v2/customers/{id}?version=1"),
            None,
        )
        .await;
    assert_eq!((deleted.status, &deleted.body), (200, &json!({})));
    let gone = s.get(&format!("/v2/customers/{id}")).await;
    assert_eq!(
        (gone.status, &gone.body),
        (
            404,
            &errors(
                json!([{"category": "INVALID_REQUEST_ERROR", "code": "NOT_FOUND",
            "detail": format!("Customer with ID `{id}` not found.")}])
            )
        )
    );
}

#[tokio::test]
async fn profiles_are_validated_like_square() {
    let sb = start().await;
    let s = Seller::new(&sb, "sq-customer-validation");
    let cases = [
        (
            json!({"note": "no name"}),
            json!([{"category": "INVALID_REQUEST_ERROR", "code": "MISSING_REQUIRED_PARAMETER",
            "detail": "At least one of `given_name`, `family_name`, `company_name`, `email_address` or `phone_number` must be provided.",
            "field": "given_name"}]),
        ),
        (
            json!({"email_address": "amelia"}),
            json!([{"category": "INVALID_REQUEST_ERROR", "code": "INVALID_EMAIL_ADDRESS",
            "detail": "Expected email_address to be a valid email address.", "field": "email_address"}]),
        ),
        (
            json!({"phone_number": "555"}),
            json!([{"category": "INVALID_REQUEST_ERROR", "code": "INVALID_PHONE_NUMBER",
            "detail": "Expected phone_number to be a valid phone number.", "field": "phone_number"}]),
        ),
        (
            json!({"given_name": "A", "birthday": "24 July"}),
            json!([{"category": "INVALID_REQUEST_ERROR", "code": "INVALID_TIME",
            "detail": "Expected birthday to be in the YYYY-MM-DD or MM-DD format.", "field": "birthday"}]),
        ),
        (
            json!({"given_name": "A".repeat(301)}),
            json!([{"category": "INVALID_REQUEST_ERROR", "code": "VALUE_TOO_LONG",
            "detail": "Field must not be greater than 300 length", "field": "given_name"}]),
        ),
    ];
    for (body, expected) in cases {
        let a = s.post("/v2/customers", body.clone()).await;
        assert_eq!((a.status, &a.body), (400, &errors(expected)), "{body}");
    }
    let listed = s.get("/v2/customers").await;
    assert_eq!((listed.status, &listed.body), (200, &json!({})));

    // A birthday without a year is answered with year 0000.
    let c = s
        .customer(json!({"company_name": "Acme", "birthday": "07-24"}))
        .await;
    assert_eq!(c["birthday"], json!("0000-07-24"));
}

#[tokio::test]
async fn create_customer_honours_idempotency_keys() {
    let sb = start().await;
    let s = Seller::new(&sb, "sq-customer-idem");
    let body = json!({"idempotency_key": "cust-1", "given_name": "Amelia"});
    let first = s.post("/v2/customers", body.clone()).await;
    let again = s.post("/v2/customers", body).await;
    assert_eq!((again.status, &again.body), (200, &first.body));
    let other = s
        .post(
            "/v2/customers",
            json!({"idempotency_key": "cust-1", "given_name": "Bob"}),
        )
        .await;
    assert_eq!(
        (other.status, &other.body),
        (
            400,
            &errors(
                json!([{"category": "INVALID_REQUEST_ERROR", "code": "IDEMPOTENCY_KEY_REUSED",
            "detail": "The idempotency key can only be retried with the same request data.", "field": "idempotency_key"}])
            )
        )
    );
    let listed = s.get("/v2/customers?count=true").await;
    assert_eq!(
        (listed.status, &listed.body),
        (
            200,
            &json!({"customers": [first.body["customer"]], "count": 1})
        )
    );
}

#[tokio::test]
async fn customers_are_listed_sorted_paged_and_searched() {
    let sb = start().await;
    let s = Seller::new(&sb, "sq-customer-list");
    let mut made = Vec::new();
    for (given, email, reference) in [
        ("Zoe", "zoe@example.com", "ref-z"),
        ("amelia", "amelia@example.com", "ref-a"),
        ("Mike", "mike@other.org", "ref-m"),
    ] {
        made.push(
            s.customer(
                json!({"given_name": given, "email_address": email, "reference_id": reference}),
            )
            .await,
        );
        sb.sandbox.advance_clock(std::time::Duration::from_secs(1));
    }
    let (zoe, amelia, mike) = (&made[0], &made[1], &made[2]);

    let by_name = s.get("/v2/customers").await;
    assert_eq!(by_name.body, json!({"customers": [amelia, mike, zoe]}));
    let newest = s
        .get("/v2/customers?sort_field=CREATED_AT&sort_order=DESC")
        .await;
    assert_eq!(newest.body, json!({"customers": [mike, amelia, zoe]}));

    let first = s.get("/v2/customers?limit=2&count=true").await;
    let cursor = first.body["cursor"].as_str().expect("cursor").to_string();
    assert_eq!(
        first.body,
        json!({"customers": [amelia, mike], "cursor": cursor, "count": 3})
    );
    let rest = s
        .get(&format!("/v2/customers?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(rest.body, json!({"customers": [zoe]}));
    let too_many = s.get("/v2/customers?limit=101").await;
    assert_eq!(too_many.status, 400);
    assert_eq!(too_many.body["errors"][0]["code"], json!("VALUE_TOO_HIGH"));

    let search = |body: Value| s.post("/v2/customers/search", body);
    let exact =
        search(json!({"query": {"filter": {"email_address": {"exact": "AMELIA@example.com"}}}}))
            .await;
    assert_eq!(
        (exact.status, &exact.body),
        (200, &json!({"customers": [amelia]}))
    );
    let fuzzy = search(
        json!({"query": {"filter": {"email_address": {"fuzzy": "example.com"}},
        "sort": {"field": "CREATED_AT", "order": "ASC"}}, "count": true}),
    )
    .await;
    assert_eq!(fuzzy.body, json!({"customers": [zoe, amelia], "count": 2}));
    let reference =
        search(json!({"query": {"filter": {"reference_id": {"exact": "ref-m"}}}})).await;
    assert_eq!(reference.body, json!({"customers": [mike]}));
    let created = mike["created_at"].as_str().unwrap_or_default();
    let since = search(json!({"query": {"filter": {"created_at": {"start_at": created}}}})).await;
    assert_eq!(since.body, json!({"customers": [mike]}));
    let excluded = search(json!({"query": {"filter": {"creation_source": {"values": ["THIRD_PARTY"], "rule": "EXCLUDE"}}}})).await;
    assert_eq!(excluded.body, json!({}));
    let paged = search(json!({"limit": 1})).await;
    let cursor = paged.body["cursor"].as_str().expect("cursor").to_string();
    assert_eq!(paged.body, json!({"customers": [amelia], "cursor": cursor}));
    let next = search(json!({"limit": 1, "cursor": cursor})).await;
    assert_eq!(next.body["customers"], json!([mike]));
}

#[tokio::test]
async fn profiles_without_a_name_sort_by_company_then_email_then_phone() {
    let sb = start().await;
    let s = Seller::new(&sb, "sq-customer-sort");
    let zed = s.customer(json!({"given_name": "Zed"})).await;
    let phone = s.customer(json!({"phone_number": "+12125554240"})).await;
    let bob = s
        .customer(json!({"email_address": "bob@example.com"}))
        .await;
    let acme = s.customer(json!({"company_name": "Acme"})).await;
    let amy = s
        .customer(json!({"given_name": "Amy", "family_name": "Zimmer", "company_name": "Zulu"}))
        .await;
    let ann = s.customer(json!({"given_name": "Ann"})).await;

    let listed = s.get("/v2/customers").await;
    assert_eq!(
        listed.body,
        json!({"customers": [phone, acme, amy, ann, bob, zed]})
    );
    let descending = s.post(
        "/v2/customers/search",
        json!({"query": {"sort": {"field": "DEFAULT", "order": "DESC"}}}),
    );
    assert_eq!(
        descending.await.body,
        json!({"customers": [zed, bob, ann, amy, acme, phone]})
    );
}

#[tokio::test]
async fn a_text_filter_cannot_be_exact_and_fuzzy_at_once() {
    let sb = start().await;
    let s = Seller::new(&sb, "sq-customer-filter");
    s.customer(json!({"email_address": "bob@example.com"}))
        .await;
    let both = s
        .post(
            "/v2/customers/search",
            json!({"query": {"filter": {"email_address": {"exact": "bob@example.com", "fuzzy": "bob"}}}}),
        )
        .await;
    assert_eq!(
        (both.status, both.body),
        (
            400,
            errors(
                json!([{"category": "INVALID_REQUEST_ERROR", "code": "CONFLICTING_PARAMETERS",
                "detail": "A text filter can be exact or fuzzy, but it cannot be both.",
                "field": "query.filter.email_address"}])
            )
        )
    );
    for field in ["phone_number", "reference_id"] {
        let both = s
            .post(
                "/v2/customers/search",
                json!({"query": {"filter": {field: {"exact": "x", "fuzzy": "x"}}}}),
            )
            .await;
        assert_eq!(
            (both.status, &both.body["errors"][0]["field"]),
            (400, &json!(format!("query.filter.{field}")))
        );
    }
    let one_null = s
        .post(
            "/v2/customers/search",
            json!({"query": {"filter": {"email_address": {"exact": "bob@example.com", "fuzzy": null}}}}),
        )
        .await;
    assert_eq!(one_null.status, 200);
    assert_eq!(one_null.body["customers"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_card_number_sent_where_square_quotes_the_request_is_not_echoed() {
    let sb = start().await;
    let s = Seller::new(&sb, "sq-card-number-echo");
    let by_id = s.get("/v2/customers/4111111111111111").await;
    assert_eq!(
        (by_id.status, by_id.body),
        (
            404,
            errors(
                json!([{"category": "INVALID_REQUEST_ERROR", "code": "NOT_FOUND",
                "detail": "Customer with ID `411111******1111` not found."}])
            )
        )
    );
    let sorted = s
        .get("/v2/customers?sort_field=4111%201111%201111%201111")
        .await;
    assert_eq!(sorted.status, 400);
    let text = sorted.body.to_string();
    assert!(text.contains("411111******1111"), "{text}");
    assert!(!text.contains("4111 1111 1111 1111"), "{text}");
}

#[tokio::test]
async fn a_bad_value_is_reported_once_at_its_full_path_as_square_writes_it() {
    let sb = start().await;
    let s = Seller::new(&sb, "sq-validation-paths");
    // A number where an enum's string goes: its type, not also "not a valid enum value".
    let country = s
        .post(
            "/v2/customers",
            json!({"given_name": "Ada", "address": {"country": 5}}),
        )
        .await;
    assert_eq!(
        (country.status, country.body),
        (
            400,
            errors(
                json!([{"category": "INVALID_REQUEST_ERROR", "code": "EXPECTED_STRING",
                "detail": "Expected a string value.", "field": "address.country"}])
            )
        )
    );
    // Array positions in brackets, and the whole path in the detail.
    let source = s
        .post(
            "/v2/customers/search",
            json!({"query": {"filter": {"creation_source": {"values": ["NOPE"]}}}}),
        )
        .await;
    assert_eq!(
        (source.status, source.body),
        (
            400,
            errors(
                json!([{"category": "INVALID_REQUEST_ERROR", "code": "INVALID_ENUM_VALUE",
                "detail": "`NOPE` is not a valid enum value for `query.filter.creation_source.values[0]`.",
                "field": "query.filter.creation_source.values[0]"}])
            )
        )
    );
}

#[tokio::test]
async fn a_time_range_filter_needs_rfc3339_bounds_in_order() {
    let sb = start().await;
    let s = Seller::new(&sb, "sq-customer-time-range");
    s.customer(json!({"given_name": "Ada"})).await;
    let search =
        |filter: Value| s.post("/v2/customers/search", json!({"query": {"filter": filter}}));

    let typo = search(json!({"created_at": {"start_at": "2026-13-01T00:00:00Z"}})).await;
    assert_eq!(
        (typo.status, typo.body),
        (
            400,
            errors(
                json!([{"category": "INVALID_REQUEST_ERROR", "code": "INVALID_TIME",
                "detail": "Expected `query.filter.created_at.start_at` to be an RFC 3339 timestamp.",
                "field": "query.filter.created_at.start_at"}])
            )
        )
    );
    let date_only = search(json!({"updated_at": {"end_at": "2026-01-01"}})).await;
    assert_eq!(
        (date_only.status, &date_only.body["errors"][0]["field"]),
        (400, &json!("query.filter.updated_at.end_at"))
    );
    let backwards = search(json!({"created_at": {
        "start_at": "2026-02-01T00:00:00Z", "end_at": "2026-01-01T00:00:00Z"}}))
    .await;
    assert_eq!(
        (backwards.status, backwards.body),
        (
            400,
            errors(
                json!([{"category": "INVALID_REQUEST_ERROR", "code": "INVALID_TIME_RANGE",
                "detail": "The end of `query.filter.created_at` is before its start.",
                "field": "query.filter.created_at"}])
            )
        )
    );
    // A bound of the wrong type is named where it is, not as the filter around it.
    let number = search(json!({"created_at": {"start_at": 12345}})).await;
    assert_eq!(
        (number.status, number.body),
        (
            400,
            errors(
                json!([{"category": "INVALID_REQUEST_ERROR", "code": "EXPECTED_STRING",
                "detail": "Expected a string value.",
                "field": "query.filter.created_at.start_at"}])
            )
        )
    );
    let sideways = s
        .post(
            "/v2/customers/search",
            json!({"query": {"sort": {"order": "SIDEWAYS"}}}),
        )
        .await;
    assert_eq!(
        (
            sideways.status,
            &sideways.body["errors"][0]["code"],
            &sideways.body["errors"][0]["field"]
        ),
        (
            400,
            &json!("INVALID_ENUM_VALUE"),
            &json!("query.sort.order")
        )
    );
    let open_ended = search(json!({"created_at": {"start_at": "2000-01-01T00:00:00+00:00"}})).await;
    assert_eq!(open_ended.status, 200);
    assert_eq!(
        open_ended.body["customers"].as_array().map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn with_access_tokens_set_any_other_token_is_incorrect_or_expired() {
    let sb = start().await;
    let settings =
        |body: Value| sb.send(Method::POST, "/__sandbox/square/settings", &[], Some(body));
    let set = settings(json!({"access_tokens": ["EAAA-known"]})).await;
    assert_eq!(set.status, 200);

    let known = Seller::new(&sb, "EAAA-known");
    known.customer(json!({"given_name": "Amy"})).await;
    let stranger = Seller::new(&sb, "EAAA-revoked").get("/v2/customers").await;
    assert_eq!(
        (stranger.status, stranger.body),
        (
            401,
            errors(
                json!([{"category": "AUTHENTICATION_ERROR", "code": "UNAUTHORIZED",
                "detail": "The `Authorization` http header of your request was incorrect or expired. The header value is expected to be of the format \"Bearer TOKEN\" (without quotation marks), where TOKEN is a valid access token (e.g. \"Bearer ABC123def456GHI789jkl0\"). For more information, see https://developer.squareup.com/docs/build-basics/using-rest-api#__set-the-headers__ ."}])
            )
        )
    );

    let refused = settings(json!({"access_tokens": "EAAA-known"})).await;
    assert_eq!(
        (refused.status, refused.body),
        (
            400,
            json!({"error": {"status": 400, "message": "access_tokens must be a list of access tokens (non-empty strings of the characters a bearer token may hold)"}})
        )
    );
    let unusable = settings(json!({"access_tokens": ["EAAA with spaces"]})).await;
    assert_eq!(unusable.status, 400, "{}", unusable.body);
    // An empty list accepts every well-formed token again.
    let cleared = settings(json!({"access_tokens": []})).await;
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    let welcome = Seller::new(&sb, "EAAA-revoked").get("/v2/customers").await;
    assert_eq!((welcome.status, welcome.body), (200, json!({})));
}

#[tokio::test]
async fn requests_need_a_well_formed_bearer_token() {
    let sb = start().await;
    let missing = sb.send(Method::GET, "/v2/customers", &[], None).await;
    assert_eq!(missing.status, 401);
    assert_eq!(
        missing.body,
        errors(
            json!([{"category": "AUTHENTICATION_ERROR", "code": "UNAUTHORIZED",
            "detail": "Your request did not include an `Authorization` http header with an access token. The header value is expected to be of the format \"Bearer TOKEN\" (without quotation marks), where TOKEN is to be replaced with your access token (e.g. \"Bearer ABC123def456GHI789jkl0\"). For more information, see https://developer.squareup.com/docs/build-basics/access-tokens. If you are seeing this error message while using one of our officially supported SDKs, please report this to developers@squareup.com."}])
        )
    );
    let malformed = sb
        .send(
            Method::GET,
            "/v2/customers",
            &[("authorization", "Token abc")],
            None,
        )
        .await;
    assert_eq!(malformed.status, 401);
    assert_eq!(
        malformed.body,
        errors(
            json!([{"category": "AUTHENTICATION_ERROR", "code": "UNAUTHORIZED",
            "detail": "The `Authorization` http header of your request was malformed. The header value is expected to be of the format \"Bearer TOKEN\" (without quotation marks), where TOKEN is to be replaced with your access token (e.g. \"Bearer ABC123def456GHI789jkl0\"). For more information, see https://developer.squareup.com/docs/build-basics/access-tokens. If you are seeing this error message while using one of our officially supported SDKs, please report this to developers@squareup.com."}])
        )
    );
}

#[tokio::test]
async fn every_square_answer_echoes_the_version_even_errors_before_routing() {
    let sb = start().await;
    let headers = [
        ("Authorization", "Bearer sq-version-echo"),
        ("Square-Version", "2026-09-16"),
    ];
    // Off the spec's paths and methods, so not checked against the official spec.
    let unknown_path = sb.send(Method::GET, "/v2/customerz", &headers, None).await;
    let wrong_method = sb
        .send(Method::PATCH, "/v2/customers", &headers, None)
        .await;
    let broken = sb
        .send_raw(
            Method::POST,
            "/v2/customers",
            &[
                ("Authorization", "Bearer sq-version-echo"),
                ("Square-Version", "2026-09-16"),
                ("Content-Type", "application/json"),
            ],
            b"{\"given_name\": ".to_vec(),
        )
        .await;
    let unauthenticated = sb
        .send(
            Method::GET,
            "/v2/customers",
            &[("Square-Version", "2026-09-16")],
            None,
        )
        .await;
    let huge = sb
        .send_raw(
            Method::POST,
            "/v2/customers",
            &headers,
            vec![b' '; 2 * 1024 * 1024],
        )
        .await;
    for (answer, status) in [
        (&unknown_path, 404),
        (&wrong_method, 405),
        (&broken, 400),
        (&unauthenticated, 401),
        (&huge, 413),
    ] {
        assert_eq!(answer.status, status, "{:?}", answer.body);
        assert_eq!(answer.header("square-version"), Some("2026-09-16"));
    }
}

#[tokio::test]
async fn a_version_header_that_is_not_text_is_malformed_not_absent() {
    let sb = start().await;
    let square = common::raw_exchange(
        sb.sandbox.addr(),
        b"GET /v2/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sq-bytes\r\nSquare-Version: 2025-08-\xff\xfe\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(square.starts_with("HTTP/1.1 400 "), "{square}");
    assert!(
        square.contains("\"code\":\"INVALID_SQUARE_VERSION_FORMAT\""),
        "{square}"
    );
    let eximpe = common::raw_exchange(
        sb.sandbox.addr(),
        b"GET /pg/tokens/?identifier=U1 HTTP/1.1\r\nHost: x\r\nX-Client-ID: c\r\nX-Client-Secret: s\r\nX-API-Version: 1.\xff.0\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(eximpe.starts_with("HTTP/1.1 400 "), "{eximpe}");
    assert!(eximpe.contains("\"attr\":\"X-API-Version\""), "{eximpe}");
}

#[tokio::test]
async fn the_square_version_is_echoed_checked_and_decides_retired_fields() {
    let sb = start().await;
    let latest = Seller::new(&sb, "sq-version").with_version("2026-09-16");
    let c = latest.customer(json!({"given_name": "Amelia"})).await;
    let id = c["id"].as_str().unwrap_or_default().to_string();

    let echoed = latest.get(&format!("/v2/customers/{id}")).await;
    assert_eq!(echoed.header("square-version"), Some("2026-09-16"));
    let unpinned = Seller::new(&sb, "sq-version")
        .get(&format!("/v2/customers/{id}"))
        .await;
    assert_eq!(unpinned.header("square-version"), Some("2025-08-20"));

    let malformed = Seller::new(&sb, "sq-version")
        .with_version("2024-1-1")
        .get("/v2/customers")
        .await;
    assert_eq!(
        (malformed.status, &malformed.body),
        (
            400,
            &errors(
                json!([{"category": "INVALID_REQUEST_ERROR", "code": "INVALID_SQUARE_VERSION_FORMAT",
            "detail": "Invalid Square-Version format: `2024-1-1`. Expected YYYY-MM-DD."}])
            )
        )
    );

    let saved = latest
        .save(
            &id,
            json!({"card_nonce": OK_NONCE, "cardholder_name": "Amelia"}),
        )
        .await;
    let card = saved.body["card"].clone();
    // `Customer.cards` was retired at 2024-12-18: only older clients get it.
    let old = Seller::new(&sb, "sq-version")
        .with_version("2024-12-17")
        .get(&format!("/v2/customers/{id}"))
        .await;
    let mut with_cards = c.clone();
    with_cards["cards"] = json!([card]);
    assert_eq!(
        (old.status, &old.body),
        (200, &json!({ "customer": with_cards }))
    );
    for version in ["2024-12-18", "2026-09-16"] {
        let new = Seller::new(&sb, "sq-version")
            .with_version(version)
            .get(&format!("/v2/customers/{id}"))
            .await;
        assert_eq!(
            (new.status, &new.body),
            (200, &json!({ "customer": c })),
            "{version}"
        );
    }
}
