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

// The OpenAPI document's types, named by the handlers' annotations.
#[cfg(feature = "openapi")]
use crate::error::ErrorBody;
#[cfg(feature = "openapi")]
use crate::openapi::generate::{AdminCallErrors, BodyErrors};

type ApiResult<T> = Result<T, ApiError>;

/// The caller's address, for counting failed attempts.
pub struct SourceIp(Option<std::net::IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for SourceIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(SourceIp(client_ip(parts)))
    }
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/auth/login", operation_id = "signIn",
    tag = "auth",
    summary = "Sign in with email and password: tokens, or the new-password challenge of a first sign-in",
    security(()),
    request_body = SignInRequest,
    responses(
        (status = 200, description = "Tokens, or a challenge", body = SignInAnswer),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "Incorrect email or password (the same answer for unknown emails)", body = ErrorBody),
        (status = 409, description = "Sign-in is not configured (no user pool)", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        (status = 429, description = "Too many failed attempts for this email or address; see Retry-After", body = ErrorBody),
        (status = 503, description = "The identity provider is unavailable; retry", body = ErrorBody),
        BodyErrors,
    ),
))]
pub async fn login(
    State(ctx): State<AppContext>,
    SourceIp(ip): SourceIp,
    JsonObject(input): JsonObject,
) -> ApiResult<Json<SignInAnswer>> {
    let request = SignInRequest::read(input)?;
    Ok(Json(ctx.sign_in().login(request, ip).await?.view()))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/auth/challenge", operation_id = "answerNewPasswordChallenge",
    tag = "auth",
    summary = "Choose a new password at first sign-in",
    security(()),
    request_body = NewPasswordAnswer,
    responses(
        (status = 200, description = "Tokens", body = TokensView),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "The challenge session has expired", body = ErrorBody),
        (status = 409, description = "Sign-in is not configured (no user pool)", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        (status = 503, description = "The identity provider is unavailable; retry", body = ErrorBody),
        BodyErrors,
    ),
))]
pub async fn challenge(
    State(ctx): State<AppContext>,
    JsonObject(input): JsonObject,
) -> ApiResult<Json<TokensView>> {
    let answer = NewPasswordAnswer::read(input)?;
    Ok(Json(
        ctx.sign_in().answer_new_password(answer).await?.view(),
    ))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/auth/refresh", operation_id = "refreshTokens",
    tag = "auth",
    summary = "New ID and access tokens for a refresh token",
    security(()),
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "Tokens (without a new refresh token)", body = TokensView),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "Refresh token invalid, revoked, or its user disabled or removed", body = ErrorBody),
        (status = 409, description = "Sign-in is not configured (no user pool)", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        (status = 503, description = "The identity provider is unavailable; retry", body = ErrorBody),
        BodyErrors,
    ),
))]
pub async fn refresh(
    State(ctx): State<AppContext>,
    JsonObject(input): JsonObject,
) -> ApiResult<Json<TokensView>> {
    let request = RefreshRequest::read(input)?;
    Ok(Json(ctx.sign_in().refresh(request).await?.view()))
}

/// Signs the caller out everywhere: refresh tokens revoked, ID tokens refused from now on.
#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/auth/logout", operation_id = "signOut",
    tag = "auth",
    summary = "Sign out everywhere: refresh tokens revoked, tokens issued so far refused",
    responses(
        (status = 204, description = "Signed out"),
        (status = 409, description = "Sign-in is not configured, or the token was minted by an embedding platform", body = ErrorBody),
        AdminCallErrors,
    ),
))]
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

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/auth/me", operation_id = "whoAmI",
    tag = "auth",
    summary = "Who the bearer token is: user (email, role, tenant, expiry) or API key",
    responses(
        (status = 200, description = "The caller", body = Me),
        AdminCallErrors,
    ),
))]
pub async fn me(caller: Caller) -> Json<Me> {
    Json(match &caller.identity {
        Identity::Admin(claims) => Me::person(claims),
        Identity::Key(key) => Me::key(key),
    })
}

/// Always 202: whether the email has an account is not said.
#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/auth/forgot-password", operation_id = "forgotPassword",
    tag = "auth",
    summary = "Email a password reset code (the same answer whether or not the email has an account)",
    security(()),
    request_body = ResetRequest,
    responses(
        (status = 202, description = "Requested", body = ResetRequested),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 409, description = "Sign-in is not configured (no user pool)", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        (status = 429, description = "Too many requests for this email or address; see Retry-After", body = ErrorBody),
        (status = 503, description = "The identity provider is unavailable; retry", body = ErrorBody),
        BodyErrors,
    ),
))]
pub async fn forgot_password(
    State(ctx): State<AppContext>,
    SourceIp(ip): SourceIp,
    JsonObject(input): JsonObject,
) -> ApiResult<(StatusCode, Json<ResetRequested>)> {
    let request = ResetRequest::read(input)?;
    ctx.sign_in().forgot_password(request, ip).await?;
    Ok((StatusCode::ACCEPTED, Json(ResetRequested::ANSWER)))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/auth/confirm-forgot-password", operation_id = "confirmForgotPassword",
    tag = "auth",
    summary = "Set a new password with the emailed code",
    security(()),
    request_body = ResetConfirmation,
    responses(
        (status = 204, description = "Password changed"),
        (status = 400, description = "Wrong or expired code", body = ErrorBody),
        (status = 409, description = "Sign-in is not configured (no user pool)", body = ErrorBody),
        (status = 422, description = "Invalid fields or a password the policy refuses", body = ErrorBody),
        (status = 429, description = "Too many failed attempts; see Retry-After", body = ErrorBody),
        (status = 503, description = "The identity provider is unavailable; retry", body = ErrorBody),
        BodyErrors,
    ),
))]
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
