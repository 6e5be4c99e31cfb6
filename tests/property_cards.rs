//! Property tests: random sequences of card-on-file operations by several shops (tenants) at
//! Mercado Pago, Square and Eximpe, checked step by step against a small model of what the
//! providers promise — and the same operations raced by many tasks, checked against every
//! state the model allows.
//!
//! One sandbox serves every case of a property; each case gets fresh credentials, which is
//! the isolation the sandbox promises (state belongs to the credential). The random seed is
//! fixed (`PAYSANDBOX_PROPTEST_SEED` picks another), failures are not persisted, and a
//! failing case is shrunk and printed as its operation sequence.

mod common;

use common::{Answer, TestSandbox};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

const TENANTS: usize = 2;
/// Distinct card numbers: few enough that repeats (same card again) are common.
const CARDS: usize = 4;
const KEYS: usize = 3;
const IDENTIFIERS: usize = 2;

// ---------------------------------------------------------------- harness

fn cases() -> u32 {
    std::env::var("PAYSANDBOX_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32)
}

fn seed() -> [u8; 32] {
    let n: u64 = std::env::var("PAYSANDBOX_PROPTEST_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_ca4d);
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&n.to_le_bytes());
    seed
}

/// Runs `property` on values of `strategy` against one sandbox; panics with the shrunk
/// input and the reason.
fn check<S>(
    shape: &str,
    strategy: S,
    property: impl Fn(&TestSandbox, u64, S::Value) -> Result<(), String>,
) where
    S: Strategy,
    S::Value: std::fmt::Debug,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let sb = runtime.block_on(common::start());
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        max_shrink_iters: 200,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed()));
    // Every run (cases and shrinking steps alike) gets credentials no earlier run used.
    let run = AtomicU64::new(0);
    let _guard = runtime.enter();
    let outcome = runner.run(&strategy, |value| {
        let n = run.fetch_add(1, Ordering::Relaxed);
        property(&sb, n, value).map_err(TestCaseError::fail)
    });
    match outcome {
        Ok(()) => {}
        Err(TestError::Fail(reason, value)) => {
            panic!("property failed: {reason}\nminimal input {shape}:\n{value:#?}")
        }
        Err(TestError::Abort(reason)) => panic!("property aborted: {reason}"),
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Handle::current().block_on(f)
}

/// Fails the case with the message unless `cond` holds; a check that held is tallied under
/// its message, so a property can show (and require) which rules its cases reached.
macro_rules! ensure {
    ($cond:expr, $fmt:literal $(, $arg:expr)* $(,)?) => {
        {
            if !$cond {
                return Err(format!($fmt $(, $arg)*));
            }
            seen($fmt);
        }
    };
}

thread_local! {
    // Per test thread: each property runs its cases on its own thread.
    static TALLY: std::cell::RefCell<BTreeMap<&'static str, usize>> = Default::default();
}

fn seen(rule: &'static str) {
    TALLY.with(|t| *t.borrow_mut().entry(rule).or_default() += 1);
}

/// Panics unless every rule was checked at least once (a property that never reaches a rule
/// proves nothing about it); prints how often each was.
fn require_reached(rules: &[&str]) {
    let t = TALLY.with(|t| t.borrow().clone());
    for (rule, n) in &t {
        eprintln!("{n:5}  {rule}");
    }
    let missing: Vec<&&str> = rules.iter().filter(|r| !t.contains_key(**r)).collect();
    assert!(missing.is_empty(), "the cases never reached: {missing:#?}");
}

fn luhn_complete(body: &str) -> String {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// Card `n`: a Visa (BIN 423564, which Mercado Pago's brand table knows) passing Luhn.
fn card_number(n: usize) -> String {
    luhn_complete(&format!("423564{n:09}"))
}

struct Creds {
    run: u64,
}

impl Creds {
    fn mp(&self, t: usize) -> String {
        format!(
            "Bearer TEST-{:016}-052210-{:032x}-{}",
            self.run,
            t,
            100_000_000 + t
        )
    }
    fn square(&self, t: usize) -> String {
        format!("Bearer sq-prop-{}-{t}", self.run)
    }
    fn eximpe(&self, t: usize) -> String {
        format!("ex-prop-{}-{t}", self.run)
    }
}

async fn mp(
    sb: &TestSandbox,
    creds: &Creds,
    t: usize,
    m: Method,
    path: &str,
    key: Option<String>,
    body: Option<Value>,
) -> Answer {
    let auth = creds.mp(t);
    let mut headers = vec![("Authorization", auth.as_str())];
    if let Some(k) = &key {
        headers.push(("X-Idempotency-Key", k.as_str()));
    }
    sb.send(m, path, &headers, body).await
}

async fn square(
    sb: &TestSandbox,
    creds: &Creds,
    t: usize,
    m: Method,
    path: &str,
    body: Option<Value>,
) -> Answer {
    let auth = creds.square(t);
    sb.send(m, path, &[("Authorization", auth.as_str())], body)
        .await
}

async fn eximpe(
    sb: &TestSandbox,
    creds: &Creds,
    t: usize,
    m: Method,
    path: &str,
    body: Option<Value>,
) -> Answer {
    let client = creds.eximpe(t);
    let headers = [
        ("X-Client-ID", client.as_str()),
        ("X-Client-Secret", "s3cret"),
        ("X-API-Version", "2.0.0"),
    ];
    sb.send(m, path, &headers, body).await
}

fn mp_token_body(card: usize) -> Value {
    json!({"card_number": card_number(card), "expiration_month": 11, "expiration_year": 2035,
           "security_code": "123", "cardholder": {"name": "APRO"}})
}

fn square_mint_body(card: usize) -> Value {
    json!({"card_number": card_number(card), "exp_month": 11, "exp_year": 2035, "cvv": "111",
           "postal_code": "94103"})
}

fn eximpe_save_body(identifier: usize, card: usize) -> Value {
    json!({"identifier": format!("user-{identifier}"), "card_number": card_number(card),
           "cardholder_name": "Ana Prop", "expiry_month": 11, "expiry_year": 2035,
           "network": "VISA", "card_type": "CREDIT", "card_holder_consent": true})
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Result<&'a str, String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("no string at {pointer} in {v}"))
}

fn ids(list: &Value, pointer: &str, field: &str) -> Vec<String> {
    list.pointer(pointer)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|c| c.get(field).and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------- operations and model

/// One step a shop takes. Indices pick among everything created so far in the case (any
/// shop's), so shops also try each other's customers, tokens and nonces.
#[derive(Debug, Clone)]
enum Op {
    /// Mercado Pago: create a customer (email `e`), with `X-Idempotency-Key` `k` if given.
    MpCustomer {
        shop: usize,
        email: usize,
        key: Option<usize>,
    },
    MpToken {
        shop: usize,
        card: usize,
    },
    MpSave {
        shop: usize,
        customer: Pick,
        token: Pick,
    },
    MpListCards {
        shop: usize,
        customer: Pick,
    },
    MpDeleteCard {
        shop: usize,
        customer: Pick,
        card: usize,
    },
    SqCustomer {
        shop: usize,
    },
    /// Square: mint a single-use nonce for card `card` (what the Web Payments SDK does).
    SqMint {
        shop: usize,
        card: usize,
    },
    /// Square CreateCard with `idempotency_key` `k`.
    SqCreateCard {
        shop: usize,
        key: usize,
        nonce: Pick,
        customer: Pick,
    },
    /// Mercado Pago checkout: a fresh token for card `card`, saved for the customer.
    MpCheckout {
        shop: usize,
        customer: Pick,
        card: usize,
    },
    /// Square checkout: a freshly minted nonce for card `card`, CreateCard with key `key`.
    SqCheckout {
        shop: usize,
        key: usize,
        customer: Pick,
        card: usize,
    },
    /// Mercado Pago: the shop's last customer creation's key, sent with another email (a
    /// client reusing its key for a different request).
    MpReuseKey {
        shop: usize,
    },
    /// Square: send the shop's last CreateCard again, byte for byte (an SDK retry).
    SqRetry {
        shop: usize,
    },
    /// Mercado Pago: send the shop's last customer creation again (an SDK retry).
    MpRetry {
        shop: usize,
    },
    SqListCards {
        shop: usize,
    },
    ExSave {
        shop: usize,
        identifier: usize,
        card: usize,
    },
    ExList {
        shop: usize,
        identifier: usize,
    },
    ExDelete {
        shop: usize,
        identifier: usize,
        token: Pick,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let shop = || 0..TENANTS;
    let mercadopago = prop_oneof![
        2 => (shop(), 0..3usize, proptest::option::weighted(0.8, 0..2usize))
            .prop_map(|(shop, email, key)| Op::MpCustomer { shop, email, key }),
        2 => (shop(), 0..CARDS).prop_map(|(shop, card)| Op::MpToken { shop, card }),
        3 => (shop(), pick(), pick())
            .prop_map(|(shop, customer, token)| Op::MpSave { shop, customer, token }),
        1 => (shop(), pick()).prop_map(|(shop, customer)| Op::MpListCards { shop, customer }),
        1 => (shop(), pick(), 0..8usize)
            .prop_map(|(shop, customer, card)| Op::MpDeleteCard { shop, customer, card }),
        1 => shop().prop_map(|shop| Op::MpRetry { shop }),
        1 => shop().prop_map(|shop| Op::MpReuseKey { shop }),
        4 => (shop(), pick(), 0..CARDS)
            .prop_map(|(shop, customer, card)| Op::MpCheckout { shop, customer, card }),
    ];
    let square = prop_oneof![
        1 => shop().prop_map(|shop| Op::SqCustomer { shop }),
        2 => (shop(), 0..CARDS).prop_map(|(shop, card)| Op::SqMint { shop, card }),
        3 => (shop(), 0..KEYS, pick(), pick()).prop_map(|(shop, key, nonce, customer)| {
            Op::SqCreateCard { shop, key, nonce, customer }
        }),
        1 => shop().prop_map(|shop| Op::SqListCards { shop }),
        1 => shop().prop_map(|shop| Op::SqRetry { shop }),
        3 => (shop(), 0..KEYS, pick(), 0..CARDS).prop_map(|(shop, key, customer, card)| {
            Op::SqCheckout { shop, key, customer, card }
        }),
    ];
    let eximpe = prop_oneof![
        3 => (shop(), 0..IDENTIFIERS, 0..CARDS)
            .prop_map(|(shop, identifier, card)| Op::ExSave { shop, identifier, card }),
        1 => (shop(), 0..IDENTIFIERS).prop_map(|(shop, identifier)| Op::ExList { shop, identifier }),
        1 => (shop(), 0..IDENTIFIERS, pick())
            .prop_map(|(shop, identifier, token)| Op::ExDelete { shop, identifier, token }),
    ];
    prop_oneof![8 => mercadopago, 7 => square, 5 => eximpe]
}

#[derive(Debug)]
struct MpCustomer {
    shop: usize,
    id: String,
    email: usize,
    /// (card id, card number index), in saving order.
    cards: Vec<(String, usize)>,
}

#[derive(Debug)]
struct MpToken {
    shop: usize,
    id: String,
    card: usize,
    used: bool,
}

#[derive(Debug)]
struct SqNonce {
    shop: usize,
    nonce: String,
    used: bool,
}

/// What the model knows after each step.
#[derive(Debug, Default)]
struct Model {
    limit: usize,
    mp_customers: Vec<MpCustomer>,
    /// (shop, key) → (email, customer id) of the creation the key made.
    mp_keys: HashMap<(usize, usize), (usize, String)>,
    mp_tokens: Vec<MpToken>,
    sq_customers: Vec<(usize, String)>,
    sq_nonces: Vec<SqNonce>,
    /// (shop, key) → (nonce index, customer index, card id).
    sq_keys: HashMap<(usize, usize), (usize, usize, String)>,
    /// (shop, card id), in creation order.
    sq_cards: Vec<(usize, String)>,
    /// Each shop's last Mercado Pago customer creation and Square CreateCard (resolved), for
    /// retries.
    mp_last: HashMap<usize, Op>,
    sq_last: HashMap<usize, (usize, usize, usize)>,
    /// (shop, identifier) → (card number index, token), in saving order.
    ex_cards: BTreeMap<(usize, usize), Vec<(usize, String)>>,
}

/// Which earlier entity a step uses: mostly one of the shop's own (so steps build on each
/// other), sometimes anyone's (so shops try each other's data).
#[derive(Debug, Clone, Copy)]
struct Pick {
    n: usize,
    own: bool,
}

fn pick() -> impl Strategy<Value = Pick> {
    (0..8usize, proptest::bool::weighted(0.8)).prop_map(|(n, own)| Pick { n, own })
}

impl Pick {
    /// The chosen item and its index in `items`, or `None` when there is nothing to pick.
    fn of<T>(self, items: &[T], shop: usize, owner: impl Fn(&T) -> usize) -> Option<(usize, &T)> {
        let candidates: Vec<usize> = (0..items.len())
            .filter(|&i| !self.own || owner(&items[i]) == shop)
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let i = candidates[self.n % candidates.len()];
        Some((i, &items[i]))
    }
}

/// Runs one step over HTTP and checks the answer against the model, then updates it.
async fn step(sb: &TestSandbox, c: &Creds, m: &mut Model, op: &Op) -> Result<(), String> {
    let exactly = |n| Pick { n, own: false };
    let op = match *op {
        Op::MpRetry { shop } => match m.mp_last.get(&shop) {
            Some(last) => last.clone(),
            None => return Ok(()),
        },
        Op::SqRetry { shop } => match m.sq_last.get(&shop) {
            Some(&(key, ni, ui)) => Op::SqCreateCard {
                shop,
                key,
                nonce: exactly(ni),
                customer: exactly(ui),
            },
            None => return Ok(()),
        },
        Op::MpReuseKey { shop } => match m.mp_last.get(&shop) {
            Some(&Op::MpCustomer {
                email,
                key: Some(key),
                ..
            }) => Op::MpCustomer {
                shop,
                email: (email + 1) % 3,
                key: Some(key),
            },
            _ => return Ok(()),
        },
        Op::MpCheckout {
            shop,
            customer,
            card,
        } => {
            Box::pin(step(sb, c, m, &Op::MpToken { shop, card })).await?;
            let token = exactly(m.mp_tokens.len() - 1);
            Op::MpSave {
                shop,
                customer,
                token,
            }
        }
        Op::SqCheckout {
            shop,
            key,
            customer,
            card,
        } => {
            Box::pin(step(sb, c, m, &Op::SqMint { shop, card })).await?;
            let nonce = exactly(m.sq_nonces.len() - 1);
            Op::SqCreateCard {
                shop,
                key,
                nonce,
                customer,
            }
        }
        ref other => other.clone(),
    };
    seen(match op {
        Op::MpCustomer { .. } => "step: MpCustomer",
        Op::MpToken { .. } => "step: MpToken",
        Op::MpSave { .. } => "step: MpSave",
        Op::MpListCards { .. } => "step: MpListCards",
        Op::MpDeleteCard { .. } => "step: MpDeleteCard",
        Op::SqCustomer { .. } => "step: SqCustomer",
        Op::SqMint { .. } => "step: SqMint",
        Op::SqCreateCard { .. } => "step: SqCreateCard",
        Op::SqListCards { .. } => "step: SqListCards",
        Op::ExSave { .. } => "step: ExSave",
        Op::ExList { .. } => "step: ExList",
        Op::ExDelete { .. } => "step: ExDelete",
        _ => "step: (a retry or checkout, resolved above)",
    });
    match op {
        Op::MpCustomer { shop, email, key } => {
            m.mp_last.insert(shop, op.clone());
            let body = json!({"email": format!("buyer{email}@example.com")});
            let k = key.map(|k| format!("prop-key-{k}"));
            let a = mp(sb, c, shop, Method::POST, "/v1/customers", k, Some(body)).await;
            let replay = key.and_then(|k| m.mp_keys.get(&(shop, k)).cloned());
            match replay {
                Some((e, id)) if e == email => {
                    ensure!(
                        a.status == 201 && str_at(&a.body, "/id")? == id,
                        "the same key and body must replay customer {id}: {} {}",
                        a.status,
                        a.body
                    );
                }
                Some(_) => ensure!(
                    a.status == 409,
                    "a key reused with another body is a conflict: {} {}",
                    a.status,
                    a.body
                ),
                None => {
                    let taken = m
                        .mp_customers
                        .iter()
                        .any(|x| x.shop == shop && x.email == email);
                    if taken {
                        ensure!(
                            a.status == 400,
                            "a second customer with one email is refused: {} {}",
                            a.status,
                            a.body
                        );
                    } else {
                        ensure!(
                            a.status == 201,
                            "a new customer is created: {} {}",
                            a.status,
                            a.body
                        );
                        let id = str_at(&a.body, "/id")?.to_string();
                        ensure!(
                            !m.mp_customers.iter().any(|x| x.id == id),
                            "customer id {id} handed out twice"
                        );
                        if let Some(k) = key {
                            m.mp_keys.insert((shop, k), (email, id.clone()));
                        }
                        m.mp_customers.push(MpCustomer {
                            shop,
                            id,
                            email,
                            cards: Vec::new(),
                        });
                    }
                }
            }
        }
        Op::MpToken { shop, card } => {
            let a = mp(
                sb,
                c,
                shop,
                Method::POST,
                "/v1/card_tokens",
                None,
                Some(mp_token_body(card)),
            )
            .await;
            ensure!(
                a.status == 201,
                "a card token is created: {} {}",
                a.status,
                a.body
            );
            let id = str_at(&a.body, "/id")?.to_string();
            m.mp_tokens.push(MpToken {
                shop,
                id,
                card,
                used: false,
            });
        }
        Op::MpSave {
            shop,
            customer,
            token,
        } => {
            let (Some((ci, cust)), Some((ti, tok))) = (
                customer.of(&m.mp_customers, shop, |c| c.shop),
                token.of(&m.mp_tokens, shop, |t| t.shop),
            ) else {
                return Ok(());
            };
            let path = format!("/v1/customers/{}/cards", cust.id);
            let a = mp(
                sb,
                c,
                shop,
                Method::POST,
                &path,
                None,
                Some(json!({"token": tok.id})),
            )
            .await;
            let existing = cust
                .cards
                .iter()
                .find(|(_, n)| *n == tok.card)
                .map(|(id, _)| id.clone());
            if cust.shop != shop {
                ensure!(
                    a.status == 404,
                    "another shop's customer is not found: {} {}",
                    a.status,
                    a.body
                );
            } else if tok.shop != shop || tok.used {
                ensure!(
                    a.status == 400,
                    "a used or foreign token saves nothing: {} {}",
                    a.status,
                    a.body
                );
            } else if let Some(id) = existing {
                ensure!(
                    a.status == 201 && str_at(&a.body, "/id")? == id,
                    "the same card again returns card {id}: {} {}",
                    a.status,
                    a.body
                );
                m.mp_tokens[ti].used = true;
            } else if cust.cards.len() >= m.limit {
                ensure!(
                    a.status == 400 && a.body["cause"][0]["code"] == "129",
                    "the card limit {} holds: {} {}",
                    m.limit,
                    a.status,
                    a.body
                );
            } else {
                ensure!(
                    a.status == 201,
                    "Mercado Pago saves the card: {} {}",
                    a.status,
                    a.body
                );
                let id = str_at(&a.body, "/id")?.to_string();
                m.mp_customers[ci].cards.push((id, tok.card));
                m.mp_tokens[ti].used = true;
            }
        }
        Op::MpListCards { shop, customer } => {
            let Some((_, cust)) = customer.of(&m.mp_customers, shop, |c| c.shop) else {
                return Ok(());
            };
            let a = mp(
                sb,
                c,
                shop,
                Method::GET,
                &format!("/v1/customers/{}/cards", cust.id),
                None,
                None,
            )
            .await;
            if cust.shop != shop {
                ensure!(
                    a.status == 404,
                    "another shop's customer's cards are not listed: {} {}",
                    a.status,
                    a.body
                );
            } else {
                let want: Vec<String> = cust.cards.iter().map(|(id, _)| id.clone()).collect();
                ensure!(
                    a.status == 200 && ids(&a.body, "", "id") == want,
                    "the list is the cards saved, in order: want {want:?}, got {} {}",
                    a.status,
                    a.body
                );
            }
        }
        Op::MpDeleteCard {
            shop,
            customer,
            card,
        } => {
            let Some((ci, cust)) = customer.of(&m.mp_customers, shop, |c| c.shop) else {
                return Ok(());
            };
            let Some((ki, (card_id, _))) = Pick {
                n: card,
                own: false,
            }
            .of(&cust.cards, shop, |_| shop) else {
                return Ok(());
            };
            let path = format!("/v1/customers/{}/cards/{card_id}", cust.id);
            let a = mp(sb, c, shop, Method::DELETE, &path, None, None).await;
            if cust.shop != shop {
                ensure!(
                    a.status == 404,
                    "another shop cannot delete the card: {} {}",
                    a.status,
                    a.body
                );
            } else {
                ensure!(
                    a.status == 200 && str_at(&a.body, "/id")? == card_id,
                    "the card is deleted: {} {}",
                    a.status,
                    a.body
                );
                m.mp_customers[ci].cards.remove(ki);
            }
        }
        Op::SqCustomer { shop } => {
            let a = square(
                sb,
                c,
                shop,
                Method::POST,
                "/v2/customers",
                Some(json!({"given_name": "Prop"})),
            )
            .await;
            ensure!(
                a.status == 200,
                "a Square customer is created: {} {}",
                a.status,
                a.body
            );
            m.sq_customers
                .push((shop, str_at(&a.body, "/customer/id")?.to_string()));
        }
        Op::SqMint { shop, card } => {
            let a = square(
                sb,
                c,
                shop,
                Method::POST,
                "/__sandbox/square/nonces",
                Some(square_mint_body(card)),
            )
            .await;
            ensure!(
                a.status == 200,
                "a nonce is minted: {} {}",
                a.status,
                a.body
            );
            m.sq_nonces.push(SqNonce {
                shop,
                nonce: str_at(&a.body, "/nonce")?.to_string(),
                used: false,
            });
        }
        Op::SqCreateCard {
            shop,
            key,
            nonce,
            customer,
        } => {
            let (Some((ni, n)), Some((ui, (cshop, cid)))) = (
                nonce.of(&m.sq_nonces, shop, |n| n.shop),
                customer.of(&m.sq_customers, shop, |c| c.0),
            ) else {
                return Ok(());
            };
            m.sq_last.insert(shop, (key, ni, ui));
            let body = json!({"idempotency_key": format!("prop-key-{key}"), "source_id": n.nonce,
                              "card": {"customer_id": cid}});
            let a = square(sb, c, shop, Method::POST, "/v2/cards", Some(body)).await;
            match m.sq_keys.get(&(shop, key)) {
                Some((kn, ku, id)) if (*kn, *ku) == (ni, ui) => {
                    ensure!(
                        a.status == 200 && str_at(&a.body, "/card/id")? == id,
                        "the same key and request replay card {id}: {} {}",
                        a.status,
                        a.body
                    );
                }
                Some(_) => ensure!(
                    a.status == 400 && a.body["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED",
                    "a key reused with another request is refused: {} {}",
                    a.status,
                    a.body
                ),
                None if *cshop != shop || n.shop != shop || n.used => {
                    ensure!(
                        (400..500).contains(&a.status),
                        "a foreign customer or a foreign or used nonce saves nothing: {} {}",
                        a.status,
                        a.body
                    );
                }
                None => {
                    ensure!(
                        a.status == 200,
                        "Square creates the card: {} {}",
                        a.status,
                        a.body
                    );
                    let id = str_at(&a.body, "/card/id")?.to_string();
                    m.sq_keys.insert((shop, key), (ni, ui, id.clone()));
                    m.sq_nonces[ni].used = true;
                    m.sq_cards.push((shop, id));
                }
            }
        }
        Op::SqListCards { shop } => {
            let a = square(sb, c, shop, Method::GET, "/v2/cards", None).await;
            let want: Vec<String> = m
                .sq_cards
                .iter()
                .filter(|(s, _)| *s == shop)
                .map(|(_, id)| id.clone())
                .collect();
            ensure!(
                a.status == 200 && ids(&a.body, "/cards", "id") == want,
                "the shop lists exactly its cards: want {want:?}, got {} {}",
                a.status,
                a.body
            );
        }
        Op::ExSave {
            shop,
            identifier,
            card,
        } => {
            let a = eximpe(
                sb,
                c,
                shop,
                Method::POST,
                "/pg/tokens/",
                Some(eximpe_save_body(identifier, card)),
            )
            .await;
            let saved = m.ex_cards.entry((shop, identifier)).or_default();
            if saved.iter().any(|(n, _)| *n == card) {
                ensure!(
                    a.status == 409,
                    "the same card twice for one identifier conflicts: {} {}",
                    a.status,
                    a.body
                );
            } else {
                ensure!(
                    a.status == 200,
                    "Eximpe saves the card: {} {}",
                    a.status,
                    a.body
                );
                saved.push((card, str_at(&a.body, "/data/card_token")?.to_string()));
            }
        }
        Op::ExList { shop, identifier } => {
            let path = format!("/pg/tokens/?identifier=user-{identifier}");
            let a = eximpe(sb, c, shop, Method::GET, &path, None).await;
            let want: Vec<String> = m
                .ex_cards
                .get(&(shop, identifier))
                .map(|v| v.iter().map(|(_, t)| t.clone()).collect())
                .unwrap_or_default();
            if want.is_empty() {
                ensure!(
                    a.status == 404,
                    "no cards is a 404: {} {}",
                    a.status,
                    a.body
                );
            } else {
                ensure!(
                    a.status == 200 && ids(&a.body, "/data", "card_token") == want,
                    "the identifier lists exactly its cards: want {want:?}, got {} {}",
                    a.status,
                    a.body
                );
            }
        }
        Op::ExDelete {
            shop,
            identifier,
            token,
        } => {
            let all: Vec<(usize, usize, String)> = m
                .ex_cards
                .iter()
                .flat_map(|((s, i), v)| v.iter().map(move |(_, t)| (*s, *i, t.clone())))
                .collect();
            let Some((_, (owner, ident, tok))) = token.of(&all, shop, |t| t.0) else {
                return Ok(());
            };
            let body = json!({"card_token": tok, "identifier": format!("user-{identifier}")});
            let a = eximpe(sb, c, shop, Method::POST, "/pg/tokens/delete/", Some(body)).await;
            if (*owner, *ident) == (shop, identifier) {
                ensure!(
                    a.status == 200,
                    "the owner deletes its card: {} {}",
                    a.status,
                    a.body
                );
                if let Some(v) = m.ex_cards.get_mut(&(shop, identifier)) {
                    v.retain(|(_, t)| t != tok);
                }
            } else {
                ensure!(
                    a.status == 404,
                    "only the owner's identifier deletes a card: {} {}",
                    a.status,
                    a.body
                );
            }
        }
        // Resolved above into the request they repeat.
        Op::MpRetry { .. }
        | Op::MpReuseKey { .. }
        | Op::SqRetry { .. }
        | Op::MpCheckout { .. }
        | Op::SqCheckout { .. } => {}
    }
    Ok(())
}

async fn set_card_limit(sb: &TestSandbox, limit: usize) -> Result<(), String> {
    let a = sb
        .send(
            Method::POST,
            "/__sandbox/mercadopago/settings",
            &[],
            Some(json!({"max_cards_per_customer": limit})),
        )
        .await;
    ensure!(a.status == 200, "settings: {} {}", a.status, a.body);
    Ok(())
}

// ---------------------------------------------------------------- the properties

/// Whatever shops do, in any order, every answer is what the model predicts: the card limit
/// holds, a token or nonce saves at most one card, an idempotency key creates at most one
/// resource, lists equal the model, and no shop sees or touches another's data.
#[test]
fn any_sequence_of_shop_operations_matches_the_model() {
    let strategy = (1..=3usize, proptest::collection::vec(op(), 5..=25));
    check("(card limit, steps)", strategy, |sb, run, (limit, ops)| {
        block_on(async {
            set_card_limit(sb, limit).await?;
            let creds = Creds { run };
            let mut model = Model {
                limit,
                ..Model::default()
            };
            // Each shop starts with a customer at Mercado Pago and at Square.
            let opening = (0..TENANTS).flat_map(|shop| {
                [
                    Op::MpCustomer {
                        shop,
                        email: 0,
                        key: None,
                    },
                    Op::SqCustomer { shop },
                ]
            });
            for op in opening {
                step(sb, &creds, &mut model, &op).await?;
            }
            for (i, op) in ops.iter().enumerate() {
                step(sb, &creds, &mut model, op)
                    .await
                    .map_err(|e| format!("step {i} {op:?}: {e}"))?;
            }
            Ok(())
        })
    });
    require_reached(&[
        "the card limit {} holds: {} {}",
        "the same card again returns card {id}: {} {}",
        "a used or foreign token saves nothing: {} {}",
        "another shop's customer is not found: {} {}",
        "the same key and body must replay customer {id}: {} {}",
        "a key reused with another body is a conflict: {} {}",
        "the list is the cards saved, in order: want {want:?}, got {} {}",
        "the same key and request replay card {id}: {} {}",
        "a key reused with another request is refused: {} {}",
        "a foreign customer or a foreign or used nonce saves nothing: {} {}",
        "the shop lists exactly its cards: want {want:?}, got {} {}",
        "the same card twice for one identifier conflicts: {} {}",
        "the identifier lists exactly its cards: want {want:?}, got {} {}",
        "only the owner's identifier deletes a card: {} {}",
    ]);
}

/// What one racer tries; every racer of a race sends the same requests at once.
#[derive(Debug, Clone)]
enum Race {
    /// Save Mercado Pago token `token` for the one customer.
    MpSave {
        token: usize,
    },
    /// Square CreateCard with key `key` and minted nonce `nonce`.
    SqCreate {
        key: usize,
        nonce: usize,
    },
    ExSave {
        identifier: usize,
        card: usize,
    },
}

fn race() -> impl Strategy<Value = Race> {
    prop_oneof![
        (0..6usize).prop_map(|token| Race::MpSave { token }),
        (0..KEYS, 0..4usize).prop_map(|(key, nonce)| Race::SqCreate { key, nonce }),
        (0..IDENTIFIERS, 0..CARDS).prop_map(|(identifier, card)| Race::ExSave { identifier, card }),
    ]
}

/// The same operations sent by several tasks at once end in a state some one-at-a-time
/// order allows: the card limit holds exactly, each token or nonce made at most one card,
/// each idempotency key made at most one card and answered every racer with it, Eximpe kept
/// each card once per identifier, and the lists show exactly the cards the answers named.
#[test]
fn racing_the_same_operations_ends_in_a_state_the_model_allows() {
    let strategy = (
        1..=3usize,
        2..=4usize,
        proptest::collection::vec(race(), 1..=12),
    );
    check(
        "(card limit, racers per operation, operations)",
        strategy,
        |sb, run, (limit, racers, ops)| {
            block_on(async {
                set_card_limit(sb, limit).await?;
                let creds = Arc::new(Creds { run });
                // One shop each: a customer at Mercado Pago and at Square, tokens and nonces.
                let cust = mp(
                    sb,
                    &creds,
                    0,
                    Method::POST,
                    "/v1/customers",
                    None,
                    Some(json!({"email": "racer@example.com"})),
                )
                .await;
                let mp_customer = str_at(&cust.body, "/id")?.to_string();
                let mut mp_tokens = Vec::new();
                for n in 0..6 {
                    let a = mp(
                        sb,
                        &creds,
                        0,
                        Method::POST,
                        "/v1/card_tokens",
                        None,
                        Some(mp_token_body(n % CARDS)),
                    )
                    .await;
                    mp_tokens.push((str_at(&a.body, "/id")?.to_string(), n % CARDS));
                }
                let sq = square(
                    sb,
                    &creds,
                    0,
                    Method::POST,
                    "/v2/customers",
                    Some(json!({"given_name": "Racer"})),
                )
                .await;
                let sq_customer = str_at(&sq.body, "/customer/id")?.to_string();
                let mut nonces = Vec::new();
                for n in 0..4 {
                    let a = square(
                        sb,
                        &creds,
                        0,
                        Method::POST,
                        "/__sandbox/square/nonces",
                        Some(square_mint_body(n)),
                    )
                    .await;
                    nonces.push(str_at(&a.body, "/nonce")?.to_string());
                }

                let sb: &TestSandbox = sb;
                let sends = ops.iter().flat_map(|op| std::iter::repeat_n(op.clone(), racers)).map(|op| {
                let (creds, mp_customer, sq_customer) = (creds.clone(), mp_customer.clone(), sq_customer.clone());
                let token = match op { Race::MpSave { token } => mp_tokens[token].0.clone(), _ => String::new() };
                let nonce = match op { Race::SqCreate { nonce, .. } => nonces[nonce].clone(), _ => String::new() };
                async move {
                    let a = match &op {
                        Race::MpSave { .. } => {
                            let path = format!("/v1/customers/{mp_customer}/cards");
                            mp(sb, &creds, 0, Method::POST, &path, None, Some(json!({"token": token}))).await
                        }
                        Race::SqCreate { key, .. } => {
                            let body = json!({"idempotency_key": format!("race-{key}"), "source_id": nonce,
                                              "card": {"customer_id": sq_customer}});
                            square(sb, &creds, 0, Method::POST, "/v2/cards", Some(body)).await
                        }
                        Race::ExSave { identifier, card } => {
                            eximpe(sb, &creds, 0, Method::POST, "/pg/tokens/", Some(eximpe_save_body(*identifier, *card))).await
                        }
                    };
                    (op, a)
                }
            });
                let answers = join_all(sends.collect()).await;

                // Mercado Pago: each token made at most one new card; cards ≤ limit; one card per
                // card number; the list is exactly the cards the answers named.
                let mut mp_named = BTreeSet::new();
                let mut sq_by_key: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
                let mut sq_by_nonce: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
                let mut ex_saved: BTreeMap<(usize, usize), usize> = BTreeMap::new();
                let mut ex_tokens: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
                for (op, a) in &answers {
                    match op {
                        Race::MpSave { .. } => match a.status {
                            201 => {
                                mp_named.insert(str_at(&a.body, "/id")?.to_string());
                            }
                            400 => {}
                            s => {
                                return Err(format!(
                                    "a racing save answers 201 or 400, not {s}: {}",
                                    a.body
                                ));
                            }
                        },
                        Race::SqCreate { key, nonce } => {
                            if a.status == 200 {
                                let id = str_at(&a.body, "/card/id")?.to_string();
                                sq_by_key.entry(*key).or_default().insert(id.clone());
                                sq_by_nonce.entry(*nonce).or_default().insert(id);
                            } else {
                                ensure!(
                                    a.status == 400,
                                    "a racing CreateCard answers 200 or 400, not {}: {}",
                                    a.status,
                                    a.body
                                );
                            }
                        }
                        Race::ExSave { identifier, card } => {
                            if a.status == 200 {
                                *ex_saved.entry((*identifier, *card)).or_default() += 1;
                                ex_tokens
                                    .entry(*identifier)
                                    .or_default()
                                    .insert(str_at(&a.body, "/data/card_token")?.to_string());
                            } else {
                                ensure!(
                                    a.status == 409,
                                    "a racing Eximpe save answers 200 or 409, not {}: {}",
                                    a.status,
                                    a.body
                                );
                            }
                        }
                    }
                }
                let list = mp(
                    sb,
                    &creds,
                    0,
                    Method::GET,
                    &format!("/v1/customers/{mp_customer}/cards"),
                    None,
                    None,
                )
                .await;
                let listed: BTreeSet<String> = ids(&list.body, "", "id").into_iter().collect();
                ensure!(
                    listed == mp_named,
                    "Mercado Pago lists exactly the cards the saves answered: {listed:?} vs {mp_named:?}"
                );
                ensure!(
                    listed.len() <= limit,
                    "the card limit {limit} holds: {} cards",
                    listed.len()
                );
                let numbers: BTreeSet<usize> = ops
                    .iter()
                    .filter_map(|o| match o {
                        Race::MpSave { token } => Some(mp_tokens[*token].1),
                        _ => None,
                    })
                    .collect();
                let expected = numbers.len().min(limit);
                ensure!(
                    listed.len() == expected,
                    "every distinct card fits until the limit: {} distinct, limit {limit}, {} saved",
                    numbers.len(),
                    listed.len()
                );

                for (key, ids) in &sq_by_key {
                    ensure!(
                        ids.len() == 1,
                        "key race-{key} made one card and answered it to every racer: {ids:?}"
                    );
                }
                for (nonce, ids) in &sq_by_nonce {
                    ensure!(
                        ids.len() == 1,
                        "nonce {nonce} made at most one card: {ids:?}"
                    );
                }
                let sq_list = square(sb, &creds, 0, Method::GET, "/v2/cards", None).await;
                let sq_listed: BTreeSet<String> =
                    ids(&sq_list.body, "/cards", "id").into_iter().collect();
                let sq_named: BTreeSet<String> = sq_by_key.values().flatten().cloned().collect();
                ensure!(
                    sq_listed == sq_named,
                    "Square lists exactly the cards the answers named: {sq_listed:?} vs {sq_named:?}"
                );

                for ((identifier, card), n) in &ex_saved {
                    ensure!(
                        *n == 1,
                        "card {card} was saved {n} times for identifier {identifier}"
                    );
                }
                for identifier in 0..IDENTIFIERS {
                    let path = format!("/pg/tokens/?identifier=user-{identifier}");
                    let a = eximpe(sb, &creds, 0, Method::GET, &path, None).await;
                    let listed: BTreeSet<String> =
                        ids(&a.body, "/data", "card_token").into_iter().collect();
                    let want = ex_tokens.remove(&identifier).unwrap_or_default();
                    ensure!(
                        listed == want,
                        "Eximpe lists exactly the saved tokens for user-{identifier}: {listed:?} vs {want:?}"
                    );
                    let attempted = ops.iter().any(
                        |o| matches!(o, Race::ExSave { identifier: i, .. } if *i == identifier),
                    );
                    ensure!(
                        attempted || a.status == 404,
                        "an identifier nobody saved for has no cards"
                    );
                }
                // Another shop sees none of it.
                let other = mp(
                    sb,
                    &creds,
                    1,
                    Method::GET,
                    &format!("/v1/customers/{mp_customer}/cards"),
                    None,
                    None,
                )
                .await;
                ensure!(
                    other.status == 404,
                    "another shop cannot list the cards: {} {}",
                    other.status,
                    other.body
                );
                let other = square(sb, &creds, 1, Method::GET, "/v2/cards", None).await;
                ensure!(
                    ids(&other.body, "/cards", "id").is_empty(),
                    "another Square seller sees no cards: {}",
                    other.body
                );
                Ok(())
            })
        },
    );
    require_reached(&[
        "key race-{key} made one card and answered it to every racer: {ids:?}",
        "nonce {nonce} made at most one card: {ids:?}",
        "card {card} was saved {n} times for identifier {identifier}",
        "every distinct card fits until the limit: {} distinct, limit {limit}, {} saved",
    ]);
}

/// Polls every future until all are done: the requests overlap at the sandbox, each on
/// its own connection, without needing `'static` tasks.
async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in futures.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}
