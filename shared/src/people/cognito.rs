//! [`IdentityProvider`] on an Amazon Cognito user pool whose username is the email, through
//! an app client without a secret that allows `USER_PASSWORD_AUTH` and refresh.
//!
//! The sign-in calls (`InitiateAuth`, `RespondToAuthChallenge`, `ForgotPassword`,
//! `ConfirmForgotPassword`) are Cognito's public API and need no IAM grant; the `Admin*`
//! calls are granted to the admin API's role on this pool only (template.yaml).

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, AuthFlowType, AuthenticationResultType, ChallengeNameType, DeliveryMediumType,
};
use aws_sdk_cognitoidentityprovider::Client;

use super::identity::{group_of, IdentityError, IdentityProvider, NewUser, SignIn, Tokens};

/// The custom attribute holding a tenant admin's tenant (`custom:tenantId` in tokens).
pub const TENANT_ATTRIBUTE: &str = "custom:tenantId";

pub struct CognitoIdentity {
    config: aws_sdk_cognitoidentityprovider::Config,
    /// Built at the first sign-in or people call, not at the cold start: most requests never
    /// reach Cognito, and a client loads its endpoint rules when built.
    client: std::sync::OnceLock<Client>,
    pool_id: String,
    client_id: String,
}

impl CognitoIdentity {
    pub fn new(
        config: aws_sdk_cognitoidentityprovider::Config,
        pool_id: impl Into<String>,
        client_id: impl Into<String>,
    ) -> Self {
        Self {
            config,
            client: std::sync::OnceLock::new(),
            pool_id: pool_id.into(),
            client_id: client_id.into(),
        }
    }

    fn client(&self) -> &Client {
        self.client
            .get_or_init(|| Client::from_conf(self.config.clone()))
    }
}

/// Cognito's error code (`NotAuthorizedException`, …) and message, when Cognito answered;
/// `None` when it could not be reached.
fn service_error<E, R>(err: &SdkError<E, R>) -> Option<(&str, &str)>
where
    E: ProvideErrorMetadata,
{
    let service = err.as_service_error()?;
    Some((service.code()?, service.message().unwrap_or_default()))
}

/// The errors every operation can meet; `specific` maps the operation's own first.
fn map_error<E, R>(
    err: SdkError<E, R>,
    specific: impl Fn(&str, &str) -> Option<IdentityError>,
) -> IdentityError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if let Some((code, message)) = service_error(&err) {
        if let Some(mapped) = specific(code, message) {
            return mapped;
        }
        match code {
            "TooManyRequestsException"
            | "LimitExceededException"
            | "TooManyFailedAttemptsException" => return IdentityError::Throttled,
            "InvalidPasswordException" => {
                return IdentityError::PasswordRejected(message.to_string())
            }
            "UserNotFoundException" => return IdentityError::UserNotFound,
            "InvalidParameterException" => return IdentityError::Invalid(message.to_string()),
            _ => {}
        }
    }
    IdentityError::Unavailable(crate::aws::describe_error(&err))
}

/// An administrator's call failing with nothing particular to it.
fn plain<E, R>(err: SdkError<E, R>) -> IdentityError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    map_error(err, |_, _| None)
}

fn tokens(result: &AuthenticationResultType) -> Result<Tokens, IdentityError> {
    let missing = || IdentityError::Unavailable("Cognito answered without tokens".into());
    Ok(Tokens {
        id_token: result.id_token().ok_or_else(missing)?.to_string(),
        access_token: result.access_token().ok_or_else(missing)?.to_string(),
        refresh_token: result.refresh_token().map(str::to_string),
        expires_in: i64::from(result.expires_in()),
    })
}

fn sign_in_outcome(
    result: Option<&AuthenticationResultType>,
    challenge: Option<&ChallengeNameType>,
    session: Option<&str>,
) -> Result<SignIn, IdentityError> {
    if let Some(result) = result {
        return Ok(SignIn::Tokens(tokens(result)?));
    }
    match (challenge, session) {
        (Some(ChallengeNameType::NewPasswordRequired), Some(session)) => {
            Ok(SignIn::NewPasswordRequired {
                session: session.to_string(),
            })
        }
        // MFA and custom challenges are not enabled on hookhub's pool.
        (Some(other), _) => Err(IdentityError::Unavailable(format!(
            "Cognito asked for the {} challenge, which hookhub's pool does not enable",
            other.as_str()
        ))),
        (None, _) => Err(IdentityError::Unavailable(
            "Cognito answered neither tokens nor a challenge".into(),
        )),
    }
}

/// A wrong password, an unknown user and a disabled one are all "invalid credentials" (as
/// Cognito answers with `PreventUserExistenceErrors`, and the emulator does not).
fn credentials_error(code: &str, _: &str) -> Option<IdentityError> {
    match code {
        "NotAuthorizedException" | "UserNotFoundException" | "UserNotConfirmedException" => {
            Some(IdentityError::InvalidCredentials)
        }
        "PasswordResetRequiredException" => Some(IdentityError::PasswordResetRequired),
        _ => None,
    }
}

fn attribute(name: &str, value: &str) -> Result<AttributeType, IdentityError> {
    AttributeType::builder()
        .name(name)
        .value(value)
        .build()
        .map_err(|e| IdentityError::Invalid(e.to_string()))
}

#[async_trait]
impl IdentityProvider for CognitoIdentity {
    async fn sign_in(&self, email: &str, password: &str) -> Result<SignIn, IdentityError> {
        let out = self
            .client()
            .initiate_auth()
            .client_id(&self.client_id)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", email)
            .auth_parameters("PASSWORD", password)
            .send()
            .await
            .map_err(|e| map_error(e, credentials_error))?;
        sign_in_outcome(
            out.authentication_result(),
            out.challenge_name(),
            out.session(),
        )
    }

    async fn answer_new_password(
        &self,
        email: &str,
        session: &str,
        new_password: &str,
    ) -> Result<SignIn, IdentityError> {
        let out = self
            .client()
            .respond_to_auth_challenge()
            .client_id(&self.client_id)
            .challenge_name(ChallengeNameType::NewPasswordRequired)
            .session(session)
            .challenge_responses("USERNAME", email)
            .challenge_responses("NEW_PASSWORD", new_password)
            .send()
            .await
            .map_err(|e| {
                map_error(e, |code, _| match code {
                    // An expired or made-up session (the emulator: ResourceNotFound).
                    "NotAuthorizedException"
                    | "ExpiredCodeException"
                    | "CodeMismatchException"
                    | "ResourceNotFoundException" => Some(IdentityError::SessionExpired),
                    _ => None,
                })
            })?;
        sign_in_outcome(
            out.authentication_result(),
            out.challenge_name(),
            out.session(),
        )
    }

    async fn refresh(&self, refresh_token: &str) -> Result<Tokens, IdentityError> {
        let out = self
            .client()
            .initiate_auth()
            .client_id(&self.client_id)
            .auth_flow(AuthFlowType::RefreshTokenAuth)
            .auth_parameters("REFRESH_TOKEN", refresh_token)
            .send()
            .await
            .map_err(|e| {
                map_error(e, |code, _| match code {
                    "NotAuthorizedException"
                    | "UserNotFoundException"
                    | "ResourceNotFoundException" => Some(IdentityError::RefreshRefused),
                    _ => None,
                })
            })?;
        let result = out.authentication_result().ok_or_else(|| {
            IdentityError::Unavailable("Cognito answered a refresh without tokens".into())
        })?;
        tokens(result)
    }

    async fn forgot_password(&self, email: &str) -> Result<(), IdentityError> {
        match self
            .client()
            .forgot_password()
            .client_id(&self.client_id)
            .username(email)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match map_error(e, credentials_error) {
                // Unknown and disabled users get the answer everyone gets.
                IdentityError::InvalidCredentials | IdentityError::UserNotFound => Ok(()),
                other => Err(other),
            },
        }
    }

    async fn confirm_forgot_password(
        &self,
        email: &str,
        code: &str,
        new_password: &str,
    ) -> Result<(), IdentityError> {
        self.client()
            .confirm_forgot_password()
            .client_id(&self.client_id)
            .username(email)
            .confirmation_code(code)
            .password(new_password)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                map_error(e, |code, _| match code {
                    "CodeMismatchException"
                    | "ExpiredCodeException"
                    | "UserNotFoundException"
                    | "NotAuthorizedException"
                    | "ResourceNotFoundException" => Some(IdentityError::InvalidCode),
                    _ => None,
                })
            })
    }

    async fn create_user(&self, user: NewUser<'_>) -> Result<String, IdentityError> {
        let mut request = self
            .client()
            .admin_create_user()
            .user_pool_id(&self.pool_id)
            .username(user.email)
            .user_attributes(attribute("email", user.email)?)
            .user_attributes(attribute("email_verified", "true")?)
            .desired_delivery_mediums(DeliveryMediumType::Email);
        if let Some(tenant) = user.tenant_id {
            request = request.user_attributes(attribute(TENANT_ATTRIBUTE, tenant)?);
        }
        if let Some(password) = user.temporary_password {
            request = request.temporary_password(password);
        }
        let out = request.send().await.map_err(|e| {
            map_error(e, |code, _| {
                (code == "UsernameExistsException").then_some(IdentityError::UserExists)
            })
        })?;
        let created = out
            .user()
            .ok_or_else(|| IdentityError::Unavailable("Cognito did not answer the user".into()))?;
        // With the email as username, Cognito's username is the user's sub.
        let user_id = created
            .attributes()
            .iter()
            .find(|a| a.name() == "sub")
            .and_then(|a| a.value())
            .or(created.username())
            .ok_or_else(|| IdentityError::Unavailable("Cognito answered a user without id".into()))?
            .to_string();
        let grouped = self
            .client()
            .admin_add_user_to_group()
            .user_pool_id(&self.pool_id)
            .username(&user_id)
            .group_name(group_of(user.role))
            .send()
            .await;
        if let Err(e) = grouped {
            // A user outside every group could sign in to nothing: do not leave one behind.
            let _ = self.delete_user(&user_id).await;
            return Err(plain(e));
        }
        Ok(user_id)
    }

    async fn set_enabled(&self, user_id: &str, enabled: bool) -> Result<(), IdentityError> {
        if enabled {
            self.client()
                .admin_enable_user()
                .user_pool_id(&self.pool_id)
                .username(user_id)
                .send()
                .await
                .map(|_| ())
                .map_err(plain)
        } else {
            self.client()
                .admin_disable_user()
                .user_pool_id(&self.pool_id)
                .username(user_id)
                .send()
                .await
                .map(|_| ())
                .map_err(plain)
        }
    }

    async fn sign_out_everywhere(&self, user_id: &str) -> Result<(), IdentityError> {
        self.client()
            .admin_user_global_sign_out()
            .user_pool_id(&self.pool_id)
            .username(user_id)
            .send()
            .await
            .map(|_| ())
            .map_err(plain)
    }

    async fn delete_user(&self, user_id: &str) -> Result<(), IdentityError> {
        self.client()
            .admin_delete_user()
            .user_pool_id(&self.pool_id)
            .username(user_id)
            .send()
            .await
            .map(|_| ())
            .map_err(plain)
    }
}
