//! `/api/auth`: signing in with an email and a password, the first sign-in's new password,
//! refresh, sign-out, who am I, and password reset. Tokens appear in responses only, never
//! in logs.

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use hookhub_shared::people::sign_in::{
    Me, NewPasswordAnswer, RefreshRequest, ResetConfirmation, ResetRequest, ResetRequested,
    SignInAnswer, SignInRequest, TokensView,
};
use hookhub_shared::AppContext;

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

pub async fn login(
    State(ctx): State<AppContext>,
    SourceIp(ip): SourceIp,
    JsonObject(input): JsonObject,
) -> ApiResult<Json<SignInAnswer>> {
    let request = SignInRequest::read(input)?;
    Ok(Json(ctx.sign_in().login(request, ip).await?.view()))
}

pub async fn challenge(
    State(ctx): State<AppContext>,
    JsonObject(input): JsonObject,
) -> ApiResult<Json<TokensView>> {
    let answer = NewPasswordAnswer::read(input)?;
    Ok(Json(
        ctx.sign_in().answer_new_password(answer).await?.view(),
    ))
}

pub async fn refresh(
    State(ctx): State<AppContext>,
    JsonObject(input): JsonObject,
) -> ApiResult<Json<TokensView>> {
    let request = RefreshRequest::read(input)?;
    Ok(Json(ctx.sign_in().refresh(request).await?.view()))
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

pub async fn me(caller: Caller) -> Json<Me> {
    Json(match &caller.identity {
        Identity::Admin(claims) => Me::person(claims),
        Identity::Key(key) => Me::key(key),
    })
}

/// Always 202: whether the email has an account is not said.
pub async fn forgot_password(
    State(ctx): State<AppContext>,
    SourceIp(ip): SourceIp,
    JsonObject(input): JsonObject,
) -> ApiResult<(StatusCode, Json<ResetRequested>)> {
    let request = ResetRequest::read(input)?;
    ctx.sign_in().forgot_password(request, ip).await?;
    Ok((StatusCode::ACCEPTED, Json(ResetRequested::ANSWER)))
}

pub async fn confirm_forgot_password(
    State(ctx): State<AppContext>,
    SourceIp(ip): SourceIp,
    JsonObject(input): JsonObject,
) -> ApiResult<StatusCode> {
    let confirmation = ResetConfirmation::read(input)?;
    ctx.sign_in()
        .confirm_forgot_password(confirmation, ip)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
