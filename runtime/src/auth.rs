//! Bearer credentials for the routes that need one (the attester's co-sign and governor
//! admin routes): reading `Authorization: Bearer <token>` and comparing tokens in constant
//! time.

use crate::ApiError;
use axum::http::{header, HeaderMap, StatusCode};

/// The token of an `Authorization: Bearer <token>` header, or a 401 saying what `route`
/// needs.
pub fn bearer_token<'h>(headers: &'h HeaderMap, route: &str) -> Result<&'h str, ApiError> {
    let unauthorized = |why: String| ApiError(StatusCode::UNAUTHORIZED, why);
    let value = headers.get(header::AUTHORIZATION).ok_or_else(|| {
        unauthorized(format!(
            "{route} needs a credential: Authorization: Bearer <token>"
        ))
    })?;
    value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(|| unauthorized("the Authorization header must be: Bearer <token>".into()))
}

/// Equality whose time depends only on the lengths (a token's length is not its secret).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bearer_token_is_read_and_anything_else_is_401() {
        let mut h = HeaderMap::new();
        assert_eq!(
            bearer_token(&h, "x").unwrap_err().0,
            StatusCode::UNAUTHORIZED
        );
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(
            bearer_token(&h, "x").unwrap_err().0,
            StatusCode::UNAUTHORIZED
        );
        h.insert(header::AUTHORIZATION, "bearer  tok ".parse().unwrap());
        assert_eq!(bearer_token(&h, "x").unwrap(), "tok");
    }

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(constant_time_eq(b"", b""));
    }
}
