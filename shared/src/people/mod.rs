//! People who sign in to hookhub: platform admins and each tenant's admins.
//!
//! The identity provider (Cognito by default) holds their passwords and issues their
//! tokens; hookhub keeps a directory of them in its table, per scope (the platform, or one
//! tenant), because listing a tenant's users is not something Cognito can filter on. The
//! directory is also what ends access at once: a token of a person disabled, removed or
//! signed out since it was issued is refused, though it has not expired.

pub mod cognito;
pub mod identity;
pub mod sign_in;
pub mod throttle;

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::audit::{Actor, AuditLog};
use crate::auth::{Claims, Role, TokenSource};
use crate::error::{ServiceError, ServiceResult};
use crate::store::{from_item, keys, to_item, Index, Query, Table, Update, Updated};
use crate::validation::Fields;
use identity::{IdentityError, IdentityProvider, NewUser};

/// How long the directory keeps a removed person, so tokens issued before the removal stay
/// refused until they expire (Cognito's ID tokens live at most a day).
const REMOVED_KEPT_SECS: i64 = 24 * 3600 + 3600;
const MAX_EMAIL_LEN: usize = 254;
/// Cognito accepts up to 256 characters.
pub const MAX_PASSWORD_LEN: usize = 256;

/// Whose people: the platform's admins, or one tenant's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    Platform,
    Tenant(&'a str),
}

impl Scope<'_> {
    /// The directory's partition and the audit log's tenant.
    pub fn id(&self) -> &str {
        match self {
            Scope::Platform => keys::PLATFORM_SCOPE,
            Scope::Tenant(tenant) => tenant,
        }
    }

    fn role(&self) -> Role {
        match self {
            Scope::Platform => Role::PlatformAdmin,
            Scope::Tenant(_) => Role::TenantAdmin,
        }
    }

    fn of(claims: &Claims) -> Scope<'_> {
        match (claims.role, claims.tenant_id.as_deref()) {
            (Role::TenantAdmin, Some(tenant)) => Scope::Tenant(tenant),
            _ => Scope::Platform,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PersonStatus {
    /// Created with a temporary password, not signed in yet.
    Invited,
    Active,
    Disabled,
    Removed,
}

impl PersonStatus {
    fn as_str(self) -> &'static str {
        match self {
            PersonStatus::Invited => "invited",
            PersonStatus::Active => "active",
            PersonStatus::Disabled => "disabled",
            PersonStatus::Removed => "removed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    /// The identity provider's id for the person (the tokens' `sub`).
    pub user_id: String,
    pub email: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    pub status: PersonStatus,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invited_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sign_in_at: Option<String>,
    /// Tokens issued at or before this second (epoch seconds) are refused: a sign-out
    /// everywhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_out_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
}

impl Person {
    pub fn view(&self) -> PersonView {
        PersonView {
            user_id: self.user_id.clone(),
            email: self.email.clone(),
            role: self.role,
            tenant_id: self.tenant_id.clone(),
            status: self.status,
            created_at: self.created_at.clone(),
            invited_by: self.invited_by.clone(),
            last_sign_in_at: self.last_sign_in_at.clone(),
        }
    }
}

/// A person as the API shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Person))]
#[serde(rename_all = "camelCase")]
pub struct PersonView {
    /// the identity provider's id (the tokens' sub)
    pub user_id: String,
    pub email: String,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub role: Role,
    pub tenant_id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub status: PersonStatus,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    pub invited_by: Option<String>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub last_sign_in_at: Option<String>,
}

/// `POST .../users`, validated: who to invite.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    serde(rename_all = "camelCase", deny_unknown_fields)
)]
pub struct Invite {
    #[cfg_attr(feature = "openapi", schema(format = Email))]
    pub email: String,
    /// set by the inviter; null or absent: the identity provider emails one. Changed at
    /// first sign-in.
    #[cfg_attr(feature = "openapi", schema(max_length = 256))]
    pub temporary_password: Option<String>,
}

impl Invite {
    pub fn read(mut input: Fields) -> Result<Self, crate::validation::InputError> {
        let email = normalise_email(&mut input, "email");
        let temporary_password = password(&mut input, "temporaryPassword", false);
        if email.is_none() && !input.has_errors() {
            input.error("email", "is required");
        }
        input.finish()?;
        Ok(Self {
            email: email.expect("validated"),
            temporary_password,
        })
    }
}

/// Whether a person's token still grants access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Allowed,
    Disabled,
    Removed,
    /// Signed out (everywhere) after the token was issued.
    SignedOut,
}

/// Lower-cased and checked: one `@`, a dot in the domain, no spaces.
pub fn normalise_email(fields: &mut Fields, name: &str) -> Option<String> {
    let email = fields.required_string(name, MAX_EMAIL_LEN)?.to_lowercase();
    if !crate::validation::is_email_address(&email) {
        fields.error(name, "must be an email address");
        return None;
    }
    Some(email)
}

/// A password field, as typed (never trimmed).
pub fn password(fields: &mut Fields, name: &str, required: bool) -> Option<String> {
    match fields.raw(name) {
        Some(Value::String(s)) if s.is_empty() => {
            fields.error(name, "must not be empty");
            None
        }
        Some(Value::String(s)) if s.chars().count() > MAX_PASSWORD_LEN => {
            fields.error(
                name,
                format!("must be at most {MAX_PASSWORD_LEN} characters"),
            );
            None
        }
        Some(Value::String(s)) => Some(s),
        Some(Value::Null) | None => {
            if required {
                fields.error(name, "is required");
            }
            None
        }
        Some(_) => {
            fields.error(name, "must be a string");
            None
        }
    }
}

/// The people directory and the administrator's operations on people; every change is
/// audited in the scope's log.
#[derive(Clone)]
pub struct PeopleService {
    table: Table,
    identity: Option<Arc<dyn IdentityProvider>>,
    audit: AuditLog,
}

/// Nobody disables or removes themselves: the last platform admin could lock everyone out.
fn refuse_self(actor: &Actor, user_id: &str) -> ServiceResult<()> {
    match actor {
        Actor::Admin { sub, .. } if sub == user_id => Err(ServiceError::Conflict(
            "you cannot disable or remove yourself; ask another administrator".into(),
        )),
        _ => Ok(()),
    }
}

/// Ends a person's sessions and deletes them from the identity provider, in that order; one
/// already gone is fine.
async fn erase(identity: &dyn IdentityProvider, user_id: &str) -> ServiceResult<()> {
    let gone = |result: Result<(), IdentityError>| match result {
        Ok(()) | Err(IdentityError::UserNotFound) => Ok(()),
        Err(e) => Err(ServiceError::from(e)),
    };
    gone(identity.sign_out_everywhere(user_id).await)?;
    gone(identity.delete_user(user_id).await)
}

fn not_configured() -> ServiceError {
    ServiceError::FailedPrecondition(
        "no identity provider is configured: people are managed by the platform that mints \
         this deployment's tokens"
            .into(),
    )
}

impl PeopleService {
    pub fn new(table: Table, identity: Option<Arc<dyn IdentityProvider>>) -> Self {
        Self {
            audit: AuditLog::new(table.clone()),
            table,
            identity,
        }
    }

    fn identity(&self) -> ServiceResult<&dyn IdentityProvider> {
        self.identity.as_deref().ok_or_else(not_configured)
    }

    /// Creates the person in the identity provider (who emails a temporary password unless
    /// `temporaryPassword` is given) and in the directory.
    pub async fn invite(
        &self,
        scope: Scope<'_>,
        invite: Invite,
        actor: &Actor,
    ) -> ServiceResult<Person> {
        let Invite {
            email,
            temporary_password,
        } = invite;
        let identity = self.identity()?;
        let tenant_id = match scope {
            Scope::Tenant(t) => Some(t),
            Scope::Platform => None,
        };
        let user_id = identity
            .create_user(NewUser {
                email: &email,
                role: scope.role(),
                tenant_id,
                temporary_password: temporary_password.as_deref(),
            })
            .await?;
        let person = Person {
            user_id: user_id.clone(),
            email,
            role: scope.role(),
            tenant_id: tenant_id.map(str::to_string),
            status: PersonStatus::Invited,
            created_at: crate::time::now_rfc3339(),
            invited_by: Some(actor.label()),
            last_sign_in_at: None,
            signed_out_at: None,
            ttl: None,
        };
        let stored = async {
            self.table
                .put(to_item(&keys::person(scope.id(), &user_id), &person)?)
                .await
        }
        .await;
        if let Err(e) = stored {
            // Not in the directory means not manageable: undo rather than leave a ghost.
            let _ = identity.delete_user(&user_id).await;
            return Err(e.into());
        }
        self.audit
            .record(
                scope.id(),
                actor,
                "user.invited",
                &user_id,
                vec!["email".into()],
            )
            .await?;
        Ok(person)
    }

    /// The scope's people, oldest id first, removed ones left out.
    pub async fn list(
        &self,
        scope: Scope<'_>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> ServiceResult<(Vec<Person>, Option<String>)> {
        let query =
            Query::new(Index::Primary, keys::people_partition(scope.id())).page(limit, cursor);
        let (people, next) = self.table.query_records::<Person>(query).await?;
        Ok((
            people
                .into_iter()
                .filter(|p| p.status != PersonStatus::Removed)
                .collect(),
            next,
        ))
    }

    async fn get(&self, scope: Scope<'_>, user_id: &str) -> ServiceResult<Person> {
        self.table
            .get_record::<Person>(&keys::person(scope.id(), user_id))
            .await?
            .filter(|p| p.status != PersonStatus::Removed)
            .ok_or(ServiceError::NotFound("user"))
    }

    /// Disabling also signs the person out everywhere: no refresh, and their current tokens
    /// are refused from the next request.
    pub async fn set_enabled(
        &self,
        scope: Scope<'_>,
        user_id: &str,
        enabled: bool,
        actor: &Actor,
    ) -> ServiceResult<Person> {
        let identity = self.identity()?;
        if !enabled {
            refuse_self(actor, user_id)?;
        }
        let mut person = self.get(scope, user_id).await?;
        identity.set_enabled(user_id, enabled).await?;
        let now = chrono::Utc::now().timestamp();
        let status = if enabled {
            match person.last_sign_in_at {
                Some(_) => PersonStatus::Active,
                None => PersonStatus::Invited,
            }
        } else {
            identity.sign_out_everywhere(user_id).await?;
            person.signed_out_at = Some(now);
            PersonStatus::Disabled
        };
        person.status = status;
        let mut update = Update::default().set_s("status", status.as_str());
        if let Some(at) = person.signed_out_at.filter(|_| !enabled) {
            update = update.set("signedOutAt", AttributeValue::N(at.to_string()));
        }
        self.update_person(scope, user_id, update).await?;
        let action = if enabled {
            "user.enabled"
        } else {
            "user.disabled"
        };
        self.audit
            .record(scope.id(), actor, action, user_id, vec!["status".into()])
            .await?;
        Ok(person)
    }

    /// Deletes the person from the identity provider; the directory keeps a removed entry
    /// until every token issued before can have expired.
    pub async fn remove(
        &self,
        scope: Scope<'_>,
        user_id: &str,
        actor: &Actor,
    ) -> ServiceResult<()> {
        let identity = self.identity()?;
        refuse_self(actor, user_id)?;
        self.get(scope, user_id).await?;
        erase(identity, user_id).await?;
        let now = chrono::Utc::now().timestamp();
        let update = Update::default()
            .set_s("status", PersonStatus::Removed.as_str())
            .set("signedOutAt", AttributeValue::N(now.to_string()))
            .set(
                keys::TTL,
                AttributeValue::N((now + REMOVED_KEPT_SECS).to_string()),
            );
        self.update_person(scope, user_id, update).await?;
        self.audit
            .record(scope.id(), actor, "user.removed", user_id, vec![])
            .await?;
        Ok(())
    }

    /// Deletes every person of a tenant from the identity provider, as the tenant goes; the
    /// directory goes with the tenant's other items. Nothing to do without a provider.
    pub async fn remove_everyone(&self, tenant_id: &str) -> ServiceResult<usize> {
        let Some(identity) = self.identity.as_deref() else {
            return Ok(0);
        };
        let mut removed = 0;
        let mut cursor: Option<String> = None;
        loop {
            let query = Query::new(Index::Primary, keys::people_partition(tenant_id))
                .page(Some(100), cursor.as_deref());
            let (people, next) = self.table.query_records::<Person>(query).await?;
            for person in people.iter().filter(|p| p.status != PersonStatus::Removed) {
                erase(identity, &person.user_id).await?;
                removed += 1;
            }
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(removed),
            }
        }
    }

    async fn update_person(
        &self,
        scope: Scope<'_>,
        user_id: &str,
        update: Update<'_>,
    ) -> ServiceResult<Person> {
        match self
            .table
            .update(&keys::person(scope.id(), user_id), update)
            .await?
        {
            Updated::Done(item) => Ok(from_item(item)?),
            Updated::ConditionFailed(_) => Err(ServiceError::NotFound("user")),
        }
    }

    /// Whether the token's person may still act: one consistent read of their entry. Tokens
    /// minted with the shared secret belong to the embedding platform, which has its own
    /// directory; people the identity provider knows but the directory does not (made
    /// outside hookhub) are allowed, as their tokens say.
    pub async fn access(&self, claims: &Claims) -> ServiceResult<Access> {
        self.access_checking(claims, false).await
    }

    /// As [`Self::access`], for tokens just refreshed: their session must also have begun
    /// after the last sign-out. The identity provider revokes refresh tokens on sign-out;
    /// this holds even where it does not (a refresh token of a session from before the
    /// sign-out, refreshed seconds later, carries a fresh issue time).
    pub async fn access_on_refresh(&self, claims: &Claims) -> ServiceResult<Access> {
        self.access_checking(claims, true).await
    }

    async fn access_checking(&self, claims: &Claims, refreshed: bool) -> ServiceResult<Access> {
        if claims.source != TokenSource::Issuer {
            return Ok(Access::Allowed);
        }
        let scope = Scope::of(claims);
        let Some(person) = self
            .table
            .get_record::<Person>(&keys::person(scope.id(), &claims.sub))
            .await?
        else {
            return Ok(Access::Allowed);
        };
        let session_began = person
            .last_sign_in_at
            .as_deref()
            .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
            .map(|at| at.timestamp());
        let session_ended = |out: i64| {
            claims.iat <= out || (refreshed && session_began.is_none_or(|began| began <= out))
        };
        Ok(match person.status {
            PersonStatus::Removed => Access::Removed,
            PersonStatus::Disabled => Access::Disabled,
            _ if person.signed_out_at.is_some_and(session_ended) => Access::SignedOut,
            _ => Access::Allowed,
        })
    }

    /// Notes a sign-in in the directory; a person made outside hookhub (the deploy's first
    /// admin) gets an entry at their first sign-in.
    pub async fn record_sign_in(&self, claims: &Claims) -> ServiceResult<()> {
        let scope = Scope::of(claims);
        let key = keys::person(scope.id(), &claims.sub);
        let now = crate::time::now_rfc3339();
        let update = Update::default()
            .set_s("lastSignInAt", now.clone())
            .set_s("status", PersonStatus::Active.as_str())
            .when("#status IN (:invited, :active)")
            .name("#status", "status")
            .value(":invited", AttributeValue::S("invited".into()))
            .value(":active", AttributeValue::S("active".into()));
        match self.table.update(&key, update).await? {
            Updated::Done(item) => {
                // Signed out and in again within one second: token times are in whole
                // seconds, so the sign-out must move back a second for the new token to
                // work (tokens of that same second from before the sign-out work again).
                let person: Person = from_item(item)?;
                if person.signed_out_at.is_some_and(|at| at >= claims.iat) {
                    let lowered = Update::default().set(
                        "signedOutAt",
                        AttributeValue::N((claims.iat - 1).to_string()),
                    );
                    self.table.update(&key, lowered).await?;
                }
                Ok(())
            }
            Updated::ConditionFailed(Some(_)) => Ok(()),
            Updated::ConditionFailed(None) => {
                let person = Person {
                    user_id: claims.sub.clone(),
                    email: claims.email.clone().unwrap_or_default(),
                    role: claims.role,
                    tenant_id: claims.tenant_id.clone(),
                    status: PersonStatus::Active,
                    created_at: now.clone(),
                    invited_by: None,
                    last_sign_in_at: Some(now),
                    signed_out_at: None,
                    ttl: None,
                };
                match self.table.put_new(to_item(&key, &person)?).await {
                    Ok(()) | Err(crate::store::StoreError::Conflict(_)) => Ok(()),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    /// Ends every session of the token's person: refresh tokens revoked, and tokens issued
    /// until now refused.
    pub async fn sign_out(&self, claims: &Claims) -> ServiceResult<()> {
        if claims.source != TokenSource::Issuer {
            return Err(ServiceError::FailedPrecondition(
                "this token was minted by the embedding platform; it signs its people out".into(),
            ));
        }
        self.identity()?.sign_out_everywhere(&claims.sub).await?;
        let now = chrono::Utc::now().timestamp();
        let update = Update::default().set("signedOutAt", AttributeValue::N(now.to_string()));
        match self
            .table
            .update(&keys::person(Scope::of(claims).id(), &claims.sub), update)
            .await?
        {
            Updated::Done(_) => Ok(()),
            // Not in the directory: Cognito's revocation is all there is to do.
            Updated::ConditionFailed(_) => Ok(()),
        }
    }
}
