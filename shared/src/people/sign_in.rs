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
        mut input: Fields,
        ip: Option<IpAddr>,
    ) -> ServiceResult<LoginOutcome> {
        let started = Instant::now();
        let email = normalise_email(&mut input, "email");
        let password = password(&mut input, "password", true);
        input.finish()?;
        let (Some(email), Some(password)) = (email, password) else {
            return Err(ServiceError::invalid("email", "is required"));
        };
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
    pub async fn answer_new_password(&self, mut input: Fields) -> ServiceResult<SignedIn> {
        let email = normalise_email(&mut input, "email");
        let session = input.required_string("session", MAX_SESSION_LEN);
        let new_password = password(&mut input, "newPassword", true);
        input.finish()?;
        let (Some(email), Some(session), Some(new_password)) = (email, session, new_password)
        else {
            return Err(ServiceError::invalid("session", "is required"));
        };
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
    pub async fn refresh(&self, mut input: Fields) -> ServiceResult<SignedIn> {
        let refresh_token = input.required_string("refreshToken", MAX_TOKEN_LEN);
        input.finish()?;
        let refresh_token =
            refresh_token.ok_or_else(|| ServiceError::invalid("refreshToken", "is required"))?;
        let tokens = self.identity()?.refresh(&refresh_token).await?;
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
        mut input: Fields,
        ip: Option<IpAddr>,
    ) -> ServiceResult<()> {
        let email = normalise_email(&mut input, "email");
        input.finish()?;
        let email = email.ok_or_else(|| ServiceError::invalid("email", "is required"))?;
        let identity = self.identity()?;
        self.refuse_if_throttled(&email, ip).await?;
        self.throttle.record_failure(&email, ip).await?;
        identity.forgot_password(&email).await?;
        Ok(())
    }

    pub async fn confirm_forgot_password(
        &self,
        mut input: Fields,
        ip: Option<IpAddr>,
    ) -> ServiceResult<()> {
        let started = Instant::now();
        let email = normalise_email(&mut input, "email");
        let code = input.required_string("code", MAX_CODE_LEN);
        let new_password = password(&mut input, "newPassword", true);
        input.finish()?;
        let (Some(email), Some(code), Some(new_password)) = (email, code, new_password) else {
            return Err(ServiceError::invalid("code", "is required"));
        };
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
