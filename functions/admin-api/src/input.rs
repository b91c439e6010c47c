//! Request input: JSON object bodies read field by field, and list pagination.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use hookhub_shared::store::MAX_PAGE_SIZE;
use hookhub_shared::validation::{parse_object, Fields};

use crate::ApiError;

/// A JSON object body, ready to be read with `Fields`.
pub struct JsonObject(pub Fields);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                let mime = v.split(';').next().unwrap_or_default().trim();
                mime.eq_ignore_ascii_case("application/json")
                    || mime.to_ascii_lowercase().ends_with("+json")
            });
        if !json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "request body is too large",
                )
            } else {
                ApiError::new(StatusCode::BAD_REQUEST, "malformed_request", e.body_text())
            }
        })?;
        Ok(JsonObject(Fields::new(parse_object(&bytes)?)))
    }
}

/// A JSON object body that may be left out entirely (an empty body).
pub struct OptionalJsonObject(pub Option<Fields>);

impl<S: Send + Sync> FromRequest<S> for OptionalJsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|e| ApiError::new(e.status(), "malformed_request", e.body_text()))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJsonObject(None));
        }
        let request = Request::from_parts(parts, axum::body::Body::from(bytes));
        let JsonObject(fields) = JsonObject::from_request(request, state).await?;
        Ok(OptionalJsonObject(Some(fields)))
    }
}

/// Other spellings of query parameters, as other products' documents write them: (alias,
/// hookhub's name). The OpenAPI document lists them, marked deprecated.
pub const QUERY_ALIASES: &[(&str, &str)] = &[("webhook_id", "webhookId")];

/// `limit` (1–1000, default 50) and an opaque `cursor`, plus any other query parameters;
/// an alias is read as the name it stands for.
pub struct ListQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    pub params: std::collections::HashMap<String, String>,
}

impl<S: Send + Sync> FromRequestParts<S> for ListQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let mut params: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect();
        let limit = match params.remove("limit") {
            None => None,
            Some(raw) => match raw.parse::<u32>() {
                Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Some(n),
                _ => {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_query",
                        format!("limit must be a whole number from 1 to {MAX_PAGE_SIZE}"),
                    ))
                }
            },
        };
        let cursor = params.remove("cursor").filter(|c| !c.is_empty());
        for (alias, name) in QUERY_ALIASES {
            let Some(value) = params.remove(*alias) else {
                continue;
            };
            match params.get(*name) {
                Some(given) if *given != value => {
                    return Err(bad_query(format!(
                        "{alias} is another spelling of {name}; give one of them"
                    )))
                }
                _ => {
                    params.insert(name.to_string(), value);
                }
            }
        }
        Ok(ListQuery {
            limit,
            cursor,
            params,
        })
    }
}

/// The list envelope every paginated route returns.
pub fn page<T>(data: Vec<T>, next_cursor: Option<String>) -> hookhub_shared::page::Page<T> {
    hookhub_shared::page::Page::new(data, next_cursor)
}

/// The `Idempotency-Key` header, if sent: 1 to 200 visible characters.
pub fn idempotency_key(headers: &axum::http::HeaderMap) -> Result<Option<String>, ApiError> {
    match headers.get("idempotency-key").map(|v| v.to_str()) {
        None => Ok(None),
        Some(Ok(k)) if !k.trim().is_empty() && k.len() <= 200 => Ok(Some(k.trim().to_string())),
        Some(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_header",
            "Idempotency-Key must be 1 to 200 visible characters",
        )),
    }
}

pub fn bad_query(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", message)
}
