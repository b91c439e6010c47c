//! Signing in with an email and a password, and what follows: the first sign-in's new
//! password, refresh, sign-out and password reset.
//!
//! A wrong password, an unknown email and a disabled user get the same answer, no sooner
//! than [`FAILURE_FLOOR`] after the request began, so neither the answer nor its timing tells
//! whether an email has an account. Failures are counted per email and per address
//! ([`super::throttle`]); past the limit the answer is "try again in N seconds".

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use super::identity::{IdentityError, IdentityProvider, SignIn, Tokens};
use super::throttle::SignInThrottle;
use super::{normalise_email, password, Access, PeopleService};
use crate::auth::{Claims, TokenVerifier};
use crate::error::{ServiceError, ServiceResult};
use crate::validation::Fields;

/// The least time a failed sign-in takes to answer: longer than the identity provider takes
/// to refuse a known or an unknown email, so both answer alike.
pub const FAILURE_FLOOR: Duration = Duration::from_millis(400);
const MAX_SESSION_LEN: usize = 4096;
const MAX_TOKEN_LEN: usize = 16 * 1024;
const MAX_CODE_LEN: usize = 64;

/// Tokens and whom they are for.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub tokens: Tokens,
    pub claims: Claims,
}

#[derive(Debug, Clone)]
pub enum LoginOutcome {
    SignedIn(SignedIn),
    /// Answer with `POST /api/auth/challenge` and a new password.
    NewPasswordRequired {
        email: String,
        session: String,
    },
}

use crate::validation::InputError;

/// A required field that `read` found absent, once every other problem is known.
fn required<T>(value: Option<T>, name: &str) -> Result<T, InputError> {
    value.ok_or_else(|| InputError::field(name, "is required"))
}

/// `POST /api/auth/login`.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = SignIn))]
#[cfg_attr(
    feature = "openapi",
    serde(rename_all = "camelCase", deny_unknown_fields)
)]
pub struct SignInRequest {
    #[cfg_attr(feature = "openapi", schema(format = Email))]
    pub email: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 256))]
    pub password: String,
}

impl SignInRequest {
    pub fn read(mut input: Fields) -> Result<Self, InputError> {
        let email = normalise_email(&mut input, "email");
        let password = password(&mut input, "password", true);
        input.finish()?;
        Ok(Self {
            email: required(email, "email")?,
            password: required(password, "password")?,
        })
    }
}

/// `POST /api/auth/challenge`: a first sign-in's new password.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = NewPassword))]
#[cfg_attr(
    feature = "openapi",
    serde(rename_all = "camelCase", deny_unknown_fields)
)]
pub struct NewPasswordAnswer {
    #[cfg_attr(feature = "openapi", schema(format = Email))]
    pub email: String,
    /// from the NEW_PASSWORD_REQUIRED answer
    pub session: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 256))]
    pub new_password: String,
}

impl NewPasswordAnswer {
    pub fn read(mut input: Fields) -> Result<Self, InputError> {
        let email = normalise_email(&mut input, "email");
        let session = input.required_string("session", MAX_SESSION_LEN);
        let new_password = password(&mut input, "newPassword", true);
        input.finish()?;
        Ok(Self {
            email: required(email, "email")?,
            session: required(session, "session")?,
            new_password: required(new_password, "newPassword")?,
        })
    }
}

/// `POST /api/auth/refresh`.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Refresh))]
#[cfg_attr(
    feature = "openapi",
    serde(rename_all = "camelCase", deny_unknown_fields)
)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

impl RefreshRequest {
    pub fn read(mut input: Fields) -> Result<Self, InputError> {
        let refresh_token = input.required_string("refreshToken", MAX_TOKEN_LEN);
        input.finish()?;
        Ok(Self {
            refresh_token: required(refresh_token, "refreshToken")?,
        })
    }
}

/// `POST /api/auth/forgot-password`.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ForgotPassword))]
#[cfg_attr(
    feature = "openapi",
    serde(rename_all = "camelCase", deny_unknown_fields)
)]
pub struct ResetRequest {
    #[cfg_attr(feature = "openapi", schema(format = Email))]
    pub email: String,
}

impl ResetRequest {
    pub fn read(mut input: Fields) -> Result<Self, InputError> {
        let email = normalise_email(&mut input, "email");
        input.finish()?;
        Ok(Self {
            email: required(email, "email")?,
        })
    }
}

/// `POST /api/auth/confirm-forgot-password`.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ConfirmForgotPassword))]
#[cfg_attr(
    feature = "openapi",
    serde(rename_all = "camelCase", deny_unknown_fields)
)]
pub struct ResetConfirmation {
    #[cfg_attr(feature = "openapi", schema(format = Email))]
    pub email: String,
    /// the code emailed by forgot-password
    pub code: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 256))]
    pub new_password: String,
}

impl ResetConfirmation {
    pub fn read(mut input: Fields) -> Result<Self, InputError> {
        let email = normalise_email(&mut input, "email");
        let code = input.required_string("code", MAX_CODE_LEN);
        let new_password = password(&mut input, "newPassword", true);
        input.finish()?;
        Ok(Self {
            email: required(email, "email")?,
            code: required(code, "code")?,
            new_password: required(new_password, "newPassword")?,
        })
    }
}

/// A sign-in's answer: tokens, or the new password a first sign-in needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = SignInResult))]
#[serde(untagged)]
pub enum SignInAnswer {
    Tokens(TokensView),
    NewPasswordRequired(NewPasswordChallenge),
}

/// Answer with `POST /api/auth/challenge` and a new password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewPasswordChallenge {
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub challenge: ChallengeName,
    pub email: String,
    pub session: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ChallengeName {
    #[serde(rename = "NEW_PASSWORD_REQUIRED")]
    NewPasswordRequired,
}

/// Signed in: the tokens and who they are for.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Tokens))]
#[serde(rename_all = "camelCase")]
pub struct TokensView {
    /// send as Authorization: Bearer
    pub id_token: String,
    pub access_token: String,
    /// absent from a refresh
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub refresh_token: Option<String>,
    /// seconds
    pub expires_in: i64,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub token_type: TokenType,
    pub user: SignedInUser,
}

/// Tokens are never logged, even in debug output.
impl std::fmt::Debug for TokensView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokensView")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TokenType {
    Bearer,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SignedInUser {
    pub user_id: String,
    pub email: Option<String>,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub role: crate::auth::Role,
    pub tenant_id: Option<String>,
}

impl SignedIn {
    pub fn view(self) -> TokensView {
        let SignedIn { tokens, claims } = self;
        TokensView {
            id_token: tokens.id_token,
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            expires_in: tokens.expires_in,
            token_type: TokenType::Bearer,
            user: SignedInUser {
                user_id: claims.sub,
                email: claims.email,
                role: claims.role,
                tenant_id: claims.tenant_id,
            },
        }
    }
}

impl LoginOutcome {
    pub fn view(self) -> SignInAnswer {
        match self {
            LoginOutcome::SignedIn(done) => SignInAnswer::Tokens(done.view()),
            LoginOutcome::NewPasswordRequired { email, session } => {
                SignInAnswer::NewPasswordRequired(NewPasswordChallenge {
                    challenge: ChallengeName::NewPasswordRequired,
                    email,
                    session,
                })
            }
        }
    }
}

/// `GET /api/auth/me`: who the credentials in use belong to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Me))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Me {
    User(SignedInPerson),
    ApiKey(KeyHolder),
}

/// A person's token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SignedInPerson {
    pub user_id: String,
    pub email: Option<String>,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub role: crate::auth::Role,
    pub tenant_id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub source: crate::auth::TokenSource,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub expires_at: Option<String>,
}

/// A tenant API key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct KeyHolder {
    pub key_id: String,
    pub tenant_id: String,
    pub permissions: Vec<String>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub expires_at: Option<String>,
}

impl Me {
    pub fn person(claims: &Claims) -> Self {
        Me::User(SignedInPerson {
            user_id: claims.sub.clone(),
            email: claims.email.clone(),
            role: claims.role,
            tenant_id: claims.tenant_id.clone(),
            source: claims.source,
            expires_at: chrono::DateTime::from_timestamp(claims.exp, 0).map(crate::time::rfc3339),
        })
    }

    pub fn key(key: &crate::api_keys::ApiKey) -> Self {
        Me::ApiKey(KeyHolder {
            key_id: key.id.clone(),
            tenant_id: key.tenant_id.clone(),
            permissions: key.permissions.clone(),
            expires_at: key.expires_at.clone(),
        })
    }
}

/// `POST /api/auth/forgot-password`'s answer, the same whether or not the email has an
/// account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResetRequested {
    pub message: &'static str,
}

impl ResetRequested {
    pub const ANSWER: Self = Self {
        message: "if this email has an account, a reset code is on its way",
    };
}

pub struct SignInService {
    identity: Option<Arc<dyn IdentityProvider>>,
    throttle: SignInThrottle,
    people: PeopleService,
    tokens: Arc<TokenVerifier>,
}

impl SignInService {
    pub fn new(
        identity: Option<Arc<dyn IdentityProvider>>,
        throttle: SignInThrottle,
        people: PeopleService,
        tokens: Arc<TokenVerifier>,
    ) -> Self {
        Self {
            identity,
            throttle,
            people,
            tokens,
        }
    }

    fn identity(&self) -> ServiceResult<&dyn IdentityProvider> {
        self.identity.as_deref().ok_or_else(super::not_configured)
    }

    async fn refuse_if_throttled(&self, email: &str, ip: Option<IpAddr>) -> ServiceResult<()> {
        match self.throttle.retry_after(email, ip).await? {
            Some(retry_after_secs) => Err(ServiceError::Throttled { retry_after_secs }),
            None => Ok(()),
        }
    }

    /// Counts the failure and answers it no sooner than the floor.
    async fn failed(
        &self,
        started: Instant,
        email: &str,
        ip: Option<IpAddr>,
        error: IdentityError,
    ) -> ServiceError {
        let counted = self.throttle.record_failure(email, ip).await;
        tokio::time::sleep_until(started + FAILURE_FLOOR).await;
        match counted {
            Ok(()) => error.into(),
            Err(e) => e.into(),
        }
    }

    pub async fn login(
        &self,
        request: SignInRequest,
        ip: Option<IpAddr>,
    ) -> ServiceResult<LoginOutcome> {
        let started = Instant::now();
        let SignInRequest { email, password } = request;
        let identity = self.identity()?;
        self.refuse_if_throttled(&email, ip).await?;
        match identity.sign_in(&email, &password).await {
            Ok(SignIn::Tokens(tokens)) => Ok(LoginOutcome::SignedIn(self.signed_in(tokens).await?)),
            Ok(SignIn::NewPasswordRequired { session }) => {
                Ok(LoginOutcome::NewPasswordRequired { email, session })
            }
            Err(e @ IdentityError::InvalidCredentials) => {
                Err(self.failed(started, &email, ip, e).await)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A first sign-in's new password, within the session `login` answered.
    pub async fn answer_new_password(&self, answer: NewPasswordAnswer) -> ServiceResult<SignedIn> {
        let NewPasswordAnswer {
            email,
            session,
            new_password,
        } = answer;
        match self
            .identity()?
            .answer_new_password(&email, &session, &new_password)
            .await?
        {
            SignIn::Tokens(tokens) => self.signed_in(tokens).await,
            SignIn::NewPasswordRequired { .. } => Err(IdentityError::SessionExpired.into()),
        }
    }

    /// New ID and access tokens for a refresh token, unless the person lost access since.
    pub async fn refresh(&self, request: RefreshRequest) -> ServiceResult<SignedIn> {
        let tokens = self.identity()?.refresh(&request.refresh_token).await?;
        let claims = self.tokens.verify(&tokens.id_token).await?;
        if self.people.access_on_refresh(&claims).await? != Access::Allowed {
            return Err(IdentityError::RefreshRefused.into());
        }
        Ok(SignedIn { tokens, claims })
    }

    /// Sends a reset code by email. The same answer whether or not the email has an
    /// account; every request counts against the email and the address, so it cannot be
    /// used to flood someone's inbox.
    pub async fn forgot_password(
        &self,
        request: ResetRequest,
        ip: Option<IpAddr>,
    ) -> ServiceResult<()> {
        let email = request.email;
        let identity = self.identity()?;
        self.refuse_if_throttled(&email, ip).await?;
        self.throttle.record_failure(&email, ip).await?;
        identity.forgot_password(&email).await?;
        Ok(())
    }

    pub async fn confirm_forgot_password(
        &self,
        confirmation: ResetConfirmation,
        ip: Option<IpAddr>,
    ) -> ServiceResult<()> {
        let started = Instant::now();
        let ResetConfirmation {
            email,
            code,
            new_password,
        } = confirmation;
        let identity = self.identity()?;
        self.refuse_if_throttled(&email, ip).await?;
        match identity
            .confirm_forgot_password(&email, &code, &new_password)
            .await
        {
            Ok(()) => Ok(()),
            Err(e @ IdentityError::InvalidCode) => Err(self.failed(started, &email, ip, e).await),
            Err(e) => Err(e.into()),
        }
    }

    async fn signed_in(&self, tokens: Tokens) -> ServiceResult<SignedIn> {
        let claims = self.tokens.verify(&tokens.id_token).await?;
        self.people.record_sign_in(&claims).await?;
        Ok(SignedIn { tokens, claims })
    }
}
