//! axum's extractors with the API's error shape: a rejected request answers
//! `{"error": "..."}` (never the framework's text/plain), and a body or query that does not
//! deserialize is a 400 — 422 is left to business refusals (e.g. a co-sign request for a
//! transaction that is not the canonical one).
//!
//! Use `usd1_runtime::extract::{Json, Path, Query}` in handlers instead of axum's.

use crate::ApiError;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A JSON request body (`Content-Type: application/json`, within the body limit), or a
/// JSON response.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

/// The query string, deserialized.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

/// The route's path parameters, deserialized.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

/// The framework's rejection as an [`ApiError`]: 422 becomes 400, and a 5xx (a route
/// declared wrong, a programming error) is logged and answered without detail.
pub fn rejection(status: StatusCode, text: String) -> ApiError {
    if status.is_server_error() {
        return ApiError::internal(text);
    }
    let status = if status == StatusCode::UNPROCESSABLE_ENTITY || !status.is_client_error() {
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    ApiError(status, text)
}

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(r) => Err(rejection(r.status(), r.body_text())),
        }
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(r) => Err(rejection(r.status(), r.body_text())),
        }
    }
}

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(r) => Err(rejection(r.status(), r.body_text())),
        }
    }
}
