//! `/api/auth`: signing in with an email and a password, the first sign-in's new password,
//! refresh, sign-out, who am I, and password reset. Tokens appear in responses only, never
//! in logs.

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use hookhub_shared::people::sign_in::{LoginOutcome, SignedIn};
use hookhub_shared::AppContext;
use serde_json::{json, Value};

use crate::auth::{client_ip, Caller, Identity};
use crate::input::JsonObject;
use crate::ApiError;

type ApiResult<T> = Result<T, ApiError>;

/// The caller's address, for counting failed attempts.
pub struct SourceIp(Option<std::net::IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for SourceIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(SourceIp(client_ip(parts)))
    }
}

fn signed_in(signed_in: SignedIn) -> Value {
    let SignedIn { tokens, claims } = signed_in;
    let mut out = json!({
        "idToken": tokens.id_token,
        "accessToken": tokens.access_token,
        "expiresIn": tokens.expires_in,
        "tokenType": "Bearer",
        "user": {
            "userId": claims.sub,
            "email": claims.email,
            "role": claims.role,
            "tenantId": claims.tenant_id,
        },
    });
    if let Some(refresh) = tokens.refresh_token {
        out["refreshToken"] = Value::String(refresh);
    }
    out
}

pub async fn login(
    State(ctx): State<AppContext>,
    SourceIp(ip): SourceIp,
    JsonObject(input): JsonObject,
) -> ApiResult<Json<Value>> {
    Ok(Json(match ctx.sign_in().login(input, ip).await? {
        LoginOutcome::SignedIn(done) => signed_in(done),
        LoginOutcome::NewPasswordRequired { email, session } => json!({
            "challenge": "NEW_PASSWORD_REQUIRED",
            "email": email,
            "session": session,
        }),
    }))
}

pub async fn challenge(
    State(ctx): State<AppContext>,
    JsonObject(input): JsonObject,
) -> ApiResult<Json<Value>> {
    Ok(Json(signed_in(
        ctx.sign_in().answer_new_password(input).await?,
    )))
}

pub async fn refresh(
    State(ctx): State<AppContext>,
    JsonObject(input): JsonObject,
) -> ApiResult<Json<Value>> {
    Ok(Json(signed_in(ctx.sign_in().refresh(input).await?)))
}

/// Signs the caller out everywhere: refresh tokens revoked, ID tokens refused from now on.
pub async fn logout(State(ctx): State<AppContext>, caller: Caller) -> ApiResult<StatusCode> {
    let Identity::Admin(claims) = &caller.identity else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "not_signed_in",
            "API keys do not sign in; revoke the key instead",
        ));
    };
    ctx.people().sign_out(claims).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn me(caller: Caller) -> Json<Value> {
    Json(match &caller.identity {
        Identity::Admin(claims) => json!({
            "kind": "user",
            "userId": claims.sub,
            "email": claims.email,
            "role": claims.role,
            "tenantId": claims.tenant_id,
            "source": claims.source,
            "expiresAt": chrono::DateTime::from_timestamp(claims.exp, 0)
                .map(hookhub_shared::time::rfc3339),
        }),
        Identity::Key(key) => json!({
            "kind": "api_key",
            "keyId": key.id,
            "tenantId": key.tenant_id,
            "permissions": key.permissions,
            "expiresAt": key.expires_at,
        }),
    })
}

/// Always 202: whether the email has an account is not said.
pub async fn forgot_password(
    State(ctx): State<AppContext>,
    SourceIp(ip): SourceIp,
    JsonObject(input): JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ctx.sign_in().forgot_password(input, ip).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "message": "if this email has an account, a reset code is on its way",
        })),
    ))
}

pub async fn confirm_forgot_password(
    State(ctx): State<AppContext>,
    SourceIp(ip): SourceIp,
    JsonObject(input): JsonObject,
) -> ApiResult<StatusCode> {
    ctx.sign_in().confirm_forgot_password(input, ip).await?;
    Ok(StatusCode::NO_CONTENT)
}
