use super::*;
use axum::http::{header, HeaderValue};
use std::time::Duration;
use usd1_core::Domain;

fn callers() -> Vec<(String, String)> {
    vec![
        ("relayer-1".into(), "a".repeat(40)),
        ("relayer-2".into(), "b".repeat(40)),
    ]
}

fn with_auth(value: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
    h
}

#[test]
fn a_known_bearer_token_names_its_caller() {
    let c = callers();
    let b = "b".repeat(40);
    assert_eq!(
        authorize(&c, &with_auth(&format!("Bearer {b}"))).unwrap(),
        "relayer-2"
    );
    assert_eq!(
        authorize(&c, &with_auth(&format!("bearer {}", "a".repeat(40)))).unwrap(),
        "relayer-1",
        "the scheme is case-insensitive"
    );
}

#[test]
fn a_missing_or_wrong_credential_is_401() {
    let c = callers();
    let cases = [
        HeaderMap::new(),
        with_auth(&"a".repeat(40)),
        with_auth(&format!("Basic {}", "a".repeat(40))),
        with_auth(&format!("Bearer {}", "c".repeat(40))),
        with_auth(&format!("Bearer {}", "a".repeat(39))),
        with_auth(&format!("Bearer {}x", "a".repeat(40))),
        with_auth("Bearer "),
    ];
    for h in cases {
        let err = authorize(&c, &h).unwrap_err();
        assert_eq!(err.0, StatusCode::UNAUTHORIZED, "{h:?}");
        assert!(!err.1.contains(&"a".repeat(40)), "no token in the answer");
    }
}

#[test]
fn no_configured_token_disables_co_signing_with_403() {
    let err = authorize(&[], &with_auth(&format!("Bearer {}", "a".repeat(40)))).unwrap_err();
    assert_eq!(err.0, StatusCode::FORBIDDEN);
    assert!(err.1.contains("cosign_tokens"), "{}", err.1);
}

#[test]
fn the_bucket_allows_a_burst_then_the_rate_per_caller() {
    let limiter = RateLimiter::new(20);
    let t0 = Instant::now();
    // A burst of 40 at once, then nothing.
    for i in 0..40 {
        assert!(limiter.allow("relayer-1", t0), "request {i} of the burst");
    }
    assert!(!limiter.allow("relayer-1", t0));
    // Another caller has its own bucket.
    assert!(limiter.allow("relayer-2", t0));
    // 20 per second refill: 100 ms gives 2.
    let t1 = t0 + Duration::from_millis(100);
    assert!(limiter.allow("relayer-1", t1));
    assert!(limiter.allow("relayer-1", t1));
    assert!(!limiter.allow("relayer-1", t1));
    // A long pause refills to the burst, no more.
    let t2 = t1 + Duration::from_secs(60);
    let allowed = (0..100).filter(|_| limiter.allow("relayer-1", t2)).count();
    assert_eq!(allowed, 40);
    // A clock read out of order does not mint tokens.
    assert!(!limiter.allow("relayer-1", t0));
}

// Which payer may pay is decided in usd1_solana::cosign_verify (its test
// `a_destination_caller_must_be_the_fee_payer`); here, the answer the refusal gets.
#[test]
fn a_destination_caller_must_be_the_fee_payer() {
    let (payer, other) = (Pubkey::new_unique(), Pubkey::new_unique());
    let err = refusal(CosignRefusal::WrongPayer {
        caller: other,
        payer,
    });
    assert_eq!(err.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(err.1.contains(&other.to_string()), "{}", err.1);
}

#[test]
fn bytes_that_are_no_transaction_are_400_other_refusals_422() {
    let err = refusal(CosignRefusal::Transaction(MintTxError::Malformed(
        "eof".into(),
    )));
    assert_eq!(err.0, StatusCode::BAD_REQUEST);
    assert!(err.1.contains("legacy transaction message"), "{}", err.1);
    for e in [
        CosignRefusal::Transaction(MintTxError::TrailingBytes(3)),
        CosignRefusal::Transaction(MintTxError::NotCanonical),
        CosignRefusal::NotToMint,
        CosignRefusal::UnknownSource(Domain(7)),
    ] {
        let text = e.to_string();
        let err = refusal(e);
        assert_eq!(err.0, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
        assert_eq!(err.1, text);
    }
}

fn record(i: usize) -> Cosigned {
    Cosigned {
        claim_authority: "auth".into(),
        blockhash: format!("hash-{i}"),
        payer: "payer".into(),
        at_ms: i as u64,
    }
}

#[test]
fn co_sign_records_are_bounded_expired_ones_make_room() {
    // Below the bound: kept as they are, validity not needed.
    let few: Vec<Cosigned> = (0..MAX_RECORDS - 1).map(record).collect();
    assert_eq!(make_room(few, &[]).unwrap().len(), MAX_RECORDS - 1);

    // Full of unexpired records: refused, 429.
    let full: Vec<Cosigned> = (0..MAX_RECORDS).map(record).collect();
    let err = make_room(full.clone(), &[true; MAX_RECORDS]).unwrap_err();
    assert_eq!(err.0, StatusCode::TOO_MANY_REQUESTS);
    assert!(err.1.contains("retry after"), "{}", err.1);

    // Full, some expired: those go, the live ones stay.
    let mut valid = [true; MAX_RECORDS];
    valid[3] = false;
    valid[7] = false;
    let kept = make_room(full, &valid).unwrap();
    assert_eq!(kept.len(), MAX_RECORDS - 2);
    assert!(kept
        .iter()
        .all(|r| r.blockhash != "hash-3" && r.blockhash != "hash-7"));
}
