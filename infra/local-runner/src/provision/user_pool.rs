//! The Cognito user pool of `template.yaml`, provisioned on the local emulator through the
//! same SDK client the admin API uses: email as username, the password policy, the
//! `tenantId` attribute, an app client without a secret for password sign-in and refresh,
//! and the two groups. Idempotent, like the rest of the local stack.

use aws_sdk_cognitoidentityprovider::types::{
    AdminCreateUserConfigType, AttributeDataType, ExplicitAuthFlowsType, MessageActionType,
    PasswordPolicyType, PreventUserExistenceErrorTypes, SchemaAttributeType,
    StringAttributeConstraintsType, UserPoolPolicyType, UsernameAttributeType,
    VerifiedAttributeType,
};
use aws_sdk_cognitoidentityprovider::Client;

use super::ProvisionError;

/// As template.yaml's `UserPoolClient`.
const CLIENT_NAME: &str = "hookhub-console";
/// The emulator's region, as `AwsClients::for_endpoint` sets it.
const REGION: &str = "us-east-1";

#[derive(Debug, Clone)]
pub struct LocalUserPool {
    pub pool_id: String,
    pub client_id: String,
    /// Where the emulator publishes the pool's keys.
    pub jwks_url: String,
}

impl LocalUserPool {
    /// The variables that point the admin API at this pool.
    pub fn env_vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("HOOKHUB_COGNITO_USER_POOL_ID", self.pool_id.clone()),
            ("HOOKHUB_COGNITO_CLIENT_ID", self.client_id.clone()),
            ("HOOKHUB_AUTH_JWKS_URL", self.jwks_url.clone()),
            ("AWS_REGION", REGION.to_string()),
        ]
    }
}

fn failed(resource: &str) -> impl FnOnce(String) -> ProvisionError + '_ {
    move |message| ProvisionError::new(resource, message)
}

fn describe<E: std::error::Error + 'static>(e: E) -> String {
    hookhub_shared::aws::describe_error(&e)
}

/// The pool named `name` (created if missing), on the emulator at `endpoint`.
pub async fn ensure_user_pool(
    client: &Client,
    name: &str,
    endpoint: &str,
) -> Result<LocalUserPool, ProvisionError> {
    let pools = client
        .list_user_pools()
        .max_results(60)
        .send()
        .await
        .map_err(|e| failed("user pool")(describe(e)))?;
    let existing = pools
        .user_pools()
        .iter()
        .find(|p| p.name() == Some(name))
        .and_then(|p| p.id())
        .map(str::to_string);
    let pool_id = match existing {
        Some(id) => id,
        None => create_pool(client, name).await?,
    };
    let client_id = ensure_client(client, &pool_id).await?;
    for group in ["platform_admin", "tenant_admin"] {
        let created = client
            .create_group()
            .user_pool_id(&pool_id)
            .group_name(group)
            .send()
            .await;
        if let Err(e) = created {
            let exists = e
                .as_service_error()
                .is_some_and(|s| s.is_group_exists_exception());
            if !exists {
                return Err(failed("user pool group")(describe(e)));
            }
        }
    }
    Ok(LocalUserPool {
        jwks_url: format!(
            "{}/{pool_id}/.well-known/jwks.json",
            endpoint.trim_end_matches('/')
        ),
        pool_id,
        client_id,
    })
}

async fn create_pool(client: &Client, name: &str) -> Result<String, ProvisionError> {
    let password_policy = PasswordPolicyType::builder()
        .minimum_length(12)
        .require_uppercase(true)
        .require_lowercase(true)
        .require_numbers(true)
        .require_symbols(true)
        .temporary_password_validity_days(7)
        .build();
    let tenant_attribute = SchemaAttributeType::builder()
        .name("tenantId")
        .attribute_data_type(AttributeDataType::String)
        .mutable(true)
        .string_attribute_constraints(
            StringAttributeConstraintsType::builder()
                .min_length("1")
                .max_length("64")
                .build(),
        )
        .build();
    let created = client
        .create_user_pool()
        .pool_name(name)
        .username_attributes(UsernameAttributeType::Email)
        .auto_verified_attributes(VerifiedAttributeType::Email)
        .policies(
            UserPoolPolicyType::builder()
                .password_policy(password_policy)
                .build(),
        )
        .schema(tenant_attribute)
        .admin_create_user_config(
            AdminCreateUserConfigType::builder()
                .allow_admin_create_user_only(true)
                .build(),
        )
        .send()
        .await
        .map_err(|e| failed("user pool")(describe(e)))?;
    created
        .user_pool()
        .and_then(|p| p.id())
        .map(str::to_string)
        .ok_or_else(|| failed("user pool")("created without an id".into()))
}

async fn ensure_client(client: &Client, pool_id: &str) -> Result<String, ProvisionError> {
    let clients = client
        .list_user_pool_clients()
        .user_pool_id(pool_id)
        .max_results(60)
        .send()
        .await
        .map_err(|e| failed("user pool client")(describe(e)))?;
    if let Some(id) = clients
        .user_pool_clients()
        .iter()
        .find(|c| c.client_name() == Some(CLIENT_NAME))
        .and_then(|c| c.client_id())
    {
        return Ok(id.to_string());
    }
    let created = client
        .create_user_pool_client()
        .user_pool_id(pool_id)
        .client_name(CLIENT_NAME)
        .generate_secret(false)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .prevent_user_existence_errors(PreventUserExistenceErrorTypes::Enabled)
        .read_attributes("email")
        .read_attributes("custom:tenantId")
        .write_attributes("email")
        .send()
        .await
        .map_err(|e| failed("user pool client")(describe(e)))?;
    created
        .user_pool_client()
        .and_then(|c| c.client_id())
        .map(str::to_string)
        .ok_or_else(|| failed("user pool client")("created without an id".into()))
}

/// A platform admin who can sign in with `password` at once (no first-sign-in challenge):
/// created if missing, its password set otherwise.
pub async fn ensure_platform_admin(
    client: &Client,
    pool: &LocalUserPool,
    email: &str,
    password: &str,
) -> Result<(), ProvisionError> {
    let created = client
        .admin_create_user()
        .user_pool_id(&pool.pool_id)
        .username(email)
        .message_action(MessageActionType::Suppress)
        .user_attributes(
            aws_sdk_cognitoidentityprovider::types::AttributeType::builder()
                .name("email")
                .value(email)
                .build()
                .map_err(|e| failed("first admin")(e.to_string()))?,
        )
        .send()
        .await;
    if let Err(e) = created {
        let exists = e
            .as_service_error()
            .is_some_and(|s| s.is_username_exists_exception());
        if !exists {
            return Err(failed("first admin")(describe(e)));
        }
    }
    client
        .admin_set_user_password()
        .user_pool_id(&pool.pool_id)
        .username(email)
        .password(password)
        .permanent(true)
        .send()
        .await
        .map_err(|e| failed("first admin's password")(describe(e)))?;
    client
        .admin_add_user_to_group()
        .user_pool_id(&pool.pool_id)
        .username(email)
        .group_name("platform_admin")
        .send()
        .await
        .map_err(|e| failed("first admin's group")(describe(e)))?;
    Ok(())
}

/// A password that meets the pool's policy: 24 random letters and digits plus one of each
/// required class.
pub fn generate_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    let body: String = (0..24)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{body}Aa1!")
}
