//! Who is calling, and which tenant they may act on.
//!
//! `Authorization: Bearer <token>` carries a person's token (an ID token from the identity
//! provider, or an HS256 token minted with the shared secret) or a tenant API key (`hk_…`). Platform admins reach any tenant's `/api/v1` routes with `X-Tenant-Id`; tenant
//! admins and keys only their own. An id of another tenant is answered as unknown (404).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use hookhub_shared::api_keys::{ApiKey, KeyRejection, RateDecision, KEY_PREFIX};
use hookhub_shared::audit::Actor;
use hookhub_shared::auth::{Claims, Role};
use hookhub_shared::people::Access;
use hookhub_shared::tenants::Tenant;
use hookhub_shared::webhooks::events::TenantCheck;
use hookhub_shared::AppContext;

use crate::error::token_refused;
use crate::ApiError;

pub const TENANT_HEADER: &str = "x-tenant-id";

#[derive(Debug, Clone)]
pub enum Identity {
    Admin(Claims),
    Key(Box<ApiKey>),
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub identity: Identity,
    /// The tenant named by `X-Tenant-Id`, for platform admins.
    requested_tenant: Option<String>,
    pub rate: Option<RateDecision>,
    /// The request only reads (GET or HEAD): platform admins may still read a suspended
    /// tenant.
    read_only: bool,
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

fn forbidden(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
}

/// The caller's address: API Gateway's `sourceIp` in Lambda, the socket peer locally.
/// Never `X-Forwarded-For`, which the caller controls.
pub fn client_ip(parts: &Parts) -> Option<IpAddr> {
    if let Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) =
        parts
            .extensions
            .get::<lambda_http::request::RequestContext>()
    {
        return ctx.http.source_ip.as_deref()?.parse().ok();
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// A person's token that verifies but no longer grants access.
fn access_ended(access: Access) -> Option<ApiError> {
    let (code, message) = match access {
        Access::Allowed => return None,
        Access::Disabled => ("user_disabled", "this user is disabled"),
        Access::Removed => ("user_removed", "this user has been removed"),
        Access::SignedOut => (
            "signed_out",
            "signed out since this token was issued: sign in again",
        ),
    };
    Some(ApiError::new(StatusCode::UNAUTHORIZED, code, message))
}

impl FromRequestParts<AppContext> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &AppContext) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| unauthorized("missing Authorization header: use Bearer <token>"))?
            .to_str()
            .map_err(|_| unauthorized("malformed Authorization header"))?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unauthorized("Authorization must be Bearer <token>"))?;
        let requested_tenant = parts
            .headers
            .get(TENANT_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty());
        let read_only = matches!(parts.method, Method::GET | Method::HEAD);

        if token.starts_with(KEY_PREFIX) {
            let key = match ctx.api_keys().authenticate(token, client_ip(parts)).await? {
                Ok(key) => key,
                Err(KeyRejection::AddressNotAllowed) => {
                    return Err(forbidden("API key is not allowed from this address"))
                }
                Err(rejection) => return Err(unauthorized(&rejection.to_string())),
            };
            let rate = ctx.rate_limiter().check(&key, client_ip(parts)).await?;
            if !rate.allowed {
                let mut err = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!("rate limit of {} requests per minute exceeded", rate.limit),
                );
                err.retry_after_secs = Some(rate.reset_after);
                return Err(err);
            }
            return Ok(Caller {
                identity: Identity::Key(Box::new(key)),
                requested_tenant,
                rate: Some(rate),
                read_only,
            });
        }

        let claims = ctx.tokens.verify(token).await.map_err(token_refused)?;
        if let Some(refused) = access_ended(ctx.people().access(&claims).await?) {
            return Err(refused);
        }
        Ok(Caller {
            identity: Identity::Admin(claims),
            requested_tenant,
            rate: None,
            read_only,
        })
    }
}

impl Caller {
    pub fn actor(&self) -> Actor {
        match &self.identity {
            Identity::Admin(c) => Actor::Admin {
                sub: c.sub.clone(),
                role: c.role,
            },
            Identity::Key(k) => Actor::ApiKey {
                key_id: k.id.clone(),
            },
        }
    }

    pub fn require_platform_admin(&self) -> Result<(), ApiError> {
        match &self.identity {
            Identity::Admin(c) if c.role == Role::PlatformAdmin => Ok(()),
            _ => Err(forbidden("platform administrators only")),
        }
    }

    /// Admins (JWT) only: API keys cannot manage API keys.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        match &self.identity {
            Identity::Admin(_) => Ok(()),
            Identity::Key(_) => Err(forbidden("API keys cannot do this; use an admin token")),
        }
    }

    /// The tenant this request acts on, checked to exist and not to be suspended (an API
    /// key's suspension is on the key itself), with `permission` for API keys.
    pub async fn tenant(&self, ctx: &AppContext, permission: &str) -> Result<String, ApiError> {
        let (tenant_id, check) = self.tenant_checked(ctx, permission).await?;
        if check == TenantCheck::Verify {
            self.unless_suspended(ctx.tenants().get(&tenant_id).await?)?;
        }
        Ok(tenant_id)
    }

    /// A tenant a platform admin manages (`/api/platform/tenants/{id}/…`): it exists, and
    /// if it is suspended the request only reads.
    pub async fn platform_tenant(
        &self,
        ctx: &AppContext,
        tenant_id: &str,
    ) -> Result<Tenant, ApiError> {
        self.require_platform_admin()?;
        self.unless_suspended(ctx.tenants().get(tenant_id).await?)
    }

    /// A suspended tenant is refused to everyone but a platform admin reading it.
    fn unless_suspended(&self, tenant: Tenant) -> Result<Tenant, ApiError> {
        let platform_read = self.read_only
            && matches!(&self.identity, Identity::Admin(c) if c.role == Role::PlatformAdmin);
        if tenant.is_suspended() && !platform_read {
            return Err(crate::error::tenant_suspended());
        }
        Ok(tenant)
    }

    /// [`tenant_to_check`](Self::tenant_to_check), with a key's refusal counted in its
    /// usage.
    pub async fn tenant_checked(
        &self,
        ctx: &AppContext,
        permission: &str,
    ) -> Result<(String, TenantCheck), ApiError> {
        let checked = self.tenant_to_check(permission);
        if let (Err(_), Identity::Key(key)) = (&checked, &self.identity) {
            ctx.rate_limiter()
                .refused(key, hookhub_shared::api_keys::Refusal::Forbidden)
                .await;
        }
        checked
    }

    /// The tenant this request acts on, with `permission` for API keys, and whether it is
    /// still to be checked to exist: for a caller that can fold the check into its own read.
    pub fn tenant_to_check(&self, permission: &str) -> Result<(String, TenantCheck), ApiError> {
        let tenant_id = match &self.identity {
            // Keys vanish with their tenant; JWTs and X-Tenant-Id need the check.
            Identity::Key(key) => {
                if !key.allows(permission) {
                    return Err(forbidden(format!(
                        "API key lacks the {permission} permission"
                    )));
                }
                return Ok((key.tenant_id.clone(), TenantCheck::Trusted));
            }
            Identity::Admin(c) if c.role == Role::TenantAdmin => {
                c.tenant_id.clone().expect("verified to carry a tenant")
            }
            Identity::Admin(_) => self.requested_tenant.clone().ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "tenant_required",
                    "platform admins name the tenant with the X-Tenant-Id header",
                )
            })?,
        };
        Ok((tenant_id, TenantCheck::Verify))
    }
}
