//! The identity provider, as the people and sign-in services need it: password sign-in with
//! its first-sign-in challenge, refresh, password reset, and the administrator's calls that
//! create, disable and remove users. Amazon Cognito implements it ([`super::cognito`]).

use async_trait::async_trait;

use crate::auth::Role;

/// Tokens from a sign-in or a refresh. Never logged: `Debug` shows none of them.
#[derive(Clone, PartialEq, Eq)]
pub struct Tokens {
    /// The bearer token for hookhub's API (it carries the groups and the tenant).
    pub id_token: String,
    pub access_token: String,
    /// Absent from a refresh, which keeps the refresh token it was given.
    pub refresh_token: Option<String>,
    /// Seconds until the ID and access tokens expire.
    pub expires_in: i64,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// What a password sign-in comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    Tokens(Tokens),
    /// A first sign-in with a temporary password: a new password must be chosen, within
    /// the identity provider's session (a few minutes).
    NewPasswordRequired {
        session: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// Wrong password, unknown user or disabled user: one answer for all three.
    #[error("incorrect email or password")]
    InvalidCredentials,
    #[error("a password reset is required: use forgot-password")]
    PasswordResetRequired,
    #[error("the password does not meet the password policy: {0}")]
    PasswordRejected(String),
    #[error("the code is wrong or has expired")]
    InvalidCode,
    #[error("the sign-in session has expired: sign in again")]
    SessionExpired,
    #[error("the refresh token is invalid, expired or revoked: sign in again")]
    RefreshRefused,
    #[error("a user with this email already exists")]
    UserExists,
    #[error("no such user")]
    UserNotFound,
    #[error("the identity provider is throttling requests; retry shortly")]
    Throttled,
    #[error("{0}")]
    Invalid(String),
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
}

/// A person to create, who receives a temporary password (by email from the identity
/// provider unless the administrator sets it) and must choose their own at first sign-in.
#[derive(Debug, Clone, Copy)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub role: Role,
    pub tenant_id: Option<&'a str>,
    pub temporary_password: Option<&'a str>,
}

/// The group a role is granted by, as tokens name it in `cognito:groups`.
pub fn group_of(role: Role) -> &'static str {
    match role {
        Role::PlatformAdmin => "platform_admin",
        Role::TenantAdmin => "tenant_admin",
    }
}

#[async_trait]
pub trait IdentityProvider: Send + Sync {
    async fn sign_in(&self, email: &str, password: &str) -> Result<SignIn, IdentityError>;

    async fn answer_new_password(
        &self,
        email: &str,
        session: &str,
        new_password: &str,
    ) -> Result<SignIn, IdentityError>;

    async fn refresh(&self, refresh_token: &str) -> Result<Tokens, IdentityError>;

    /// Sends a reset code to the user's email; says nothing about whether the user exists.
    async fn forgot_password(&self, email: &str) -> Result<(), IdentityError>;

    async fn confirm_forgot_password(
        &self,
        email: &str,
        code: &str,
        new_password: &str,
    ) -> Result<(), IdentityError>;

    /// Creates the user in the role's group; answers the user's id (the tokens' `sub`).
    async fn create_user(&self, user: NewUser<'_>) -> Result<String, IdentityError>;

    async fn set_enabled(&self, user_id: &str, enabled: bool) -> Result<(), IdentityError>;

    /// Revokes every refresh token the user holds: no session outlives it.
    async fn sign_out_everywhere(&self, user_id: &str) -> Result<(), IdentityError>;

    async fn delete_user(&self, user_id: &str) -> Result<(), IdentityError>;
}
