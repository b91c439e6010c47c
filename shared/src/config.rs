//! Configuration comes from the environment only, so the same binary runs in Lambda, in the
//! local runner and in tests.

use std::time::Duration;

/// Documented development secret; refused unless `HOOKHUB_LOCAL=true`.
pub const DEV_JWT_SECRET: &str = "hookhub-local-development-secret-do-not-deploy";
const MIN_JWT_SECRET_LEN: usize = 32;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("missing environment variable {0}")]
    Missing(&'static str),
    #[error("invalid environment variable {name}: {reason}")]
    Invalid { name: &'static str, reason: String },
}

#[derive(Clone)]
pub struct Config {
    pub table_name: String,
    pub delivery_queue_url: String,
    /// Where undecodable jobs go at once rather than after every redrive attempt.
    pub dead_letter_queue_url: Option<String>,
    pub kms_key_id: String,
    /// Local development and tests: enables the development JWT secret.
    pub local_mode: bool,
    /// Lets deliveries reach private and loopback addresses (local receivers).
    pub allow_private_targets: bool,
    jwt_secret: Option<String>,
    /// Where people's tokens come from, when an identity provider is configured.
    pub issuer: Option<crate::auth::oidc::IssuerConfig>,
    /// The Cognito user pool people sign in to, when the issuer is Cognito: sign-in routes
    /// and people management need it.
    pub user_pool_id: Option<String>,
    /// Retention of attempt logs and dedupe records.
    pub log_retention: Duration,
    /// Every tenant's quotas unless a platform admin set its own.
    pub quotas: crate::quotas::Quotas,
    /// Base URLs of Twilio, Vonage and the Graph API (tests point them at local servers).
    pub provider_urls: crate::messages::ProviderUrls,
    /// The address failure alerts are sent from (an identity verified in Amazon SES); no
    /// alerts are sent without one.
    pub alert_sender: Option<String>,
    /// The console's public address, for links in the emails hookhub sends.
    pub console_url: Option<String>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("table_name", &self.table_name)
            .field("delivery_queue_url", &self.delivery_queue_url)
            .field("dead_letter_queue_url", &self.dead_letter_queue_url)
            .field("kms_key_id", &self.kms_key_id)
            .field("local_mode", &self.local_mode)
            .field("allow_private_targets", &self.allow_private_targets)
            .field(
                "jwt_secret",
                &self.jwt_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("issuer", &self.issuer)
            .field("user_pool_id", &self.user_pool_id)
            .field("log_retention", &self.log_retention)
            .field("provider_urls", &self.provider_urls)
            .field("quotas", &self.quotas)
            .field("alert_sender", &self.alert_sender)
            .field("console_url", &self.console_url)
            .finish()
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads every variable through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &'static str| -> Result<String, ConfigError> {
            match lookup(name) {
                Some(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
                _ => Err(ConfigError::Missing(name)),
            }
        };
        let optional = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let flag = |name: &'static str| -> Result<bool, ConfigError> {
            match optional(name).as_deref().map(str::trim) {
                None => Ok(false),
                Some("true" | "1" | "yes") => Ok(true),
                Some("false" | "0" | "no") => Ok(false),
                Some(other) => Err(ConfigError::Invalid {
                    name,
                    reason: format!("expected true or false, got {other:?}"),
                }),
            }
        };

        let local_mode = flag("HOOKHUB_LOCAL")?;
        let jwt_secret = optional("HOOKHUB_JWT_SECRET");
        if let Some(secret) = &jwt_secret {
            if secret.len() < MIN_JWT_SECRET_LEN {
                return Err(ConfigError::Invalid {
                    name: "HOOKHUB_JWT_SECRET",
                    reason: format!("must be at least {MIN_JWT_SECRET_LEN} characters"),
                });
            }
            if secret == DEV_JWT_SECRET && !local_mode {
                return Err(ConfigError::Invalid {
                    name: "HOOKHUB_JWT_SECRET",
                    reason: "the development secret is refused outside local mode".into(),
                });
            }
        }
        let log_retention_days = match optional("HOOKHUB_LOG_RETENTION_DAYS") {
            None => 90,
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|d| (1..=3650).contains(d))
                .ok_or(ConfigError::Invalid {
                    name: "HOOKHUB_LOG_RETENTION_DAYS",
                    reason: "expected a whole number of days from 1 to 3650".into(),
                })?,
        };

        let base_url = |name: &'static str, default: String| -> Result<String, ConfigError> {
            let Some(value) = optional(name) else {
                return Ok(default);
            };
            let value = value.trim().trim_end_matches('/').to_string();
            match url::Url::parse(&value) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                    Ok(value)
                }
                _ => Err(ConfigError::Invalid {
                    name,
                    reason: "expected an http(s) base URL".into(),
                }),
            }
        };
        let defaults = crate::messages::ProviderUrls::default();
        let provider_urls = crate::messages::ProviderUrls {
            twilio: base_url("HOOKHUB_TWILIO_BASE_URL", defaults.twilio)?,
            vonage: base_url("HOOKHUB_VONAGE_BASE_URL", defaults.vonage)?,
            graph: base_url("HOOKHUB_GRAPH_BASE_URL", defaults.graph)?,
        };

        let issuer = read_issuer(&optional)?;
        let alert_sender = optional("HOOKHUB_ALERT_SENDER").map(|v| v.trim().to_string());
        if let Some(sender) = &alert_sender {
            if !crate::validation::is_email_address(sender) {
                return Err(ConfigError::Invalid {
                    name: "HOOKHUB_ALERT_SENDER",
                    reason: "expected an email address verified in Amazon SES".into(),
                });
            }
        }
        let console_url = optional("HOOKHUB_CONSOLE_URL")
            .map(|_| base_url("HOOKHUB_CONSOLE_URL", String::new()))
            .transpose()?;

        Ok(Self {
            issuer,
            user_pool_id: optional("HOOKHUB_COGNITO_USER_POOL_ID").map(|p| p.trim().to_string()),
            provider_urls,
            table_name: required("HOOKHUB_TABLE")?,
            delivery_queue_url: required("HOOKHUB_DELIVERY_QUEUE_URL")?,
            dead_letter_queue_url: optional("HOOKHUB_DEAD_LETTER_QUEUE_URL"),
            kms_key_id: required("HOOKHUB_KMS_KEY_ID")?,
            local_mode,
            allow_private_targets: flag("HOOKHUB_ALLOW_PRIVATE_TARGETS")?,
            jwt_secret,
            log_retention: Duration::from_secs(log_retention_days * 86_400),
            quotas: crate::quotas::Quotas::from_lookup(optional)?,
            alert_sender,
            console_url,
        })
    }

    /// The HS256 secret for admin JWTs: the configured one, or the documented development
    /// secret in local mode only. A deployment with an identity provider and no secret has
    /// no shared-secret tokens at all.
    pub fn jwt_secret(&self) -> Result<&str, ConfigError> {
        match (&self.jwt_secret, self.local_mode) {
            (Some(secret), _) => Ok(secret),
            (None, true) => Ok(DEV_JWT_SECRET),
            (None, false) => Err(ConfigError::Missing("HOOKHUB_JWT_SECRET")),
        }
    }
}

/// The identity provider: a Cognito user pool (`HOOKHUB_COGNITO_USER_POOL_ID` and
/// `HOOKHUB_COGNITO_CLIENT_ID`, in `AWS_REGION`), or any OIDC issuer (`HOOKHUB_OIDC_ISSUER`,
/// `HOOKHUB_OIDC_CLIENT_ID`, with the role and tenant claims' names in
/// `HOOKHUB_OIDC_ROLE_CLAIM`, default `groups`, and `HOOKHUB_OIDC_TENANT_CLAIM`, default
/// `tenantId`). `HOOKHUB_AUTH_JWKS_URL` says where the keys are when not at the issuer's
/// `/.well-known/jwks.json`.
fn read_issuer(
    optional: &impl Fn(&str) -> Option<String>,
) -> Result<Option<crate::auth::oidc::IssuerConfig>, ConfigError> {
    use crate::auth::oidc::{IssuerConfig, TokenUse};
    let jwks_url = optional("HOOKHUB_AUTH_JWKS_URL").map(|u| u.trim().to_string());
    let pool = optional("HOOKHUB_COGNITO_USER_POOL_ID");
    let oidc = optional("HOOKHUB_OIDC_ISSUER");
    match (pool, oidc) {
        (Some(_), Some(_)) => Err(ConfigError::Invalid {
            name: "HOOKHUB_OIDC_ISSUER",
            reason: "set either a Cognito user pool or an OIDC issuer, not both".into(),
        }),
        (Some(pool), None) => {
            let client = optional("HOOKHUB_COGNITO_CLIENT_ID")
                .ok_or(ConfigError::Missing("HOOKHUB_COGNITO_CLIENT_ID"))?;
            let region = optional("AWS_REGION").ok_or(ConfigError::Missing("AWS_REGION"))?;
            let mut config = IssuerConfig::cognito(region.trim(), pool.trim(), client.trim(), None);
            if let Some(url) = jwks_url {
                config.jwks_url = url;
            }
            Ok(Some(config))
        }
        (None, Some(issuer)) => {
            let issuer = issuer.trim().trim_end_matches('/').to_string();
            if !issuer.starts_with("https://") && !issuer.starts_with("http://") {
                return Err(ConfigError::Invalid {
                    name: "HOOKHUB_OIDC_ISSUER",
                    reason: "expected the issuer's URL, as its tokens' iss claim says it".into(),
                });
            }
            let client_id = optional("HOOKHUB_OIDC_CLIENT_ID")
                .ok_or(ConfigError::Missing("HOOKHUB_OIDC_CLIENT_ID"))?;
            Ok(Some(IssuerConfig {
                jwks_url: jwks_url.unwrap_or_else(|| format!("{issuer}/.well-known/jwks.json")),
                issuer,
                client_id: client_id.trim().to_string(),
                token_use: TokenUse::Oidc,
                role_claim: optional("HOOKHUB_OIDC_ROLE_CLAIM").unwrap_or_else(|| "groups".into()),
                tenant_claim: optional("HOOKHUB_OIDC_TENANT_CLAIM")
                    .unwrap_or_else(|| "tenantId".into()),
            }))
        }
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const BASE: [(&str, &str); 3] = [
        ("HOOKHUB_TABLE", "hookhub"),
        ("HOOKHUB_DELIVERY_QUEUE_URL", "http://q"),
        ("HOOKHUB_KMS_KEY_ID", "alias/hookhub"),
    ];

    #[test]
    fn names_the_missing_variable() {
        let err = Config::from_lookup(lookup(&BASE[..2])).unwrap_err();
        assert_eq!(err, ConfigError::Missing("HOOKHUB_KMS_KEY_ID"));
        assert!(err.to_string().contains("HOOKHUB_KMS_KEY_ID"));
    }

    #[test]
    fn dev_jwt_secret_only_in_local_mode() {
        let cfg = Config::from_lookup(lookup(&BASE)).unwrap();
        assert_eq!(
            cfg.jwt_secret(),
            Err(ConfigError::Missing("HOOKHUB_JWT_SECRET"))
        );

        let mut local = BASE.to_vec();
        local.push(("HOOKHUB_LOCAL", "true"));
        let cfg = Config::from_lookup(lookup(&local)).unwrap();
        assert_eq!(cfg.jwt_secret().unwrap(), DEV_JWT_SECRET);

        let mut deployed_with_dev = BASE.to_vec();
        deployed_with_dev.push(("HOOKHUB_JWT_SECRET", DEV_JWT_SECRET));
        assert!(matches!(
            Config::from_lookup(lookup(&deployed_with_dev)),
            Err(ConfigError::Invalid {
                name: "HOOKHUB_JWT_SECRET",
                ..
            })
        ));
    }

    #[test]
    fn rejects_short_secret_and_bad_flags() {
        let mut short = BASE.to_vec();
        short.push(("HOOKHUB_JWT_SECRET", "short"));
        assert!(Config::from_lookup(lookup(&short)).is_err());

        let mut bad_flag = BASE.to_vec();
        bad_flag.push(("HOOKHUB_ALLOW_PRIVATE_TARGETS", "maybe"));
        assert!(matches!(
            Config::from_lookup(lookup(&bad_flag)),
            Err(ConfigError::Invalid {
                name: "HOOKHUB_ALLOW_PRIVATE_TARGETS",
                ..
            })
        ));
    }

    #[test]
    fn provider_base_urls_default_to_the_providers_and_can_be_pointed_elsewhere() {
        let cfg = Config::from_lookup(lookup(&BASE)).unwrap();
        assert_eq!(cfg.provider_urls.twilio, "https://api.twilio.com");
        assert_eq!(cfg.provider_urls.graph, "https://graph.facebook.com");
        let mut local = BASE.to_vec();
        local.push(("HOOKHUB_VONAGE_BASE_URL", "http://127.0.0.1:9000/"));
        let cfg = Config::from_lookup(lookup(&local)).unwrap();
        assert_eq!(cfg.provider_urls.vonage, "http://127.0.0.1:9000");
        let mut bad = BASE.to_vec();
        bad.push(("HOOKHUB_GRAPH_BASE_URL", "graph.facebook.com"));
        assert!(matches!(
            Config::from_lookup(lookup(&bad)),
            Err(ConfigError::Invalid {
                name: "HOOKHUB_GRAPH_BASE_URL",
                ..
            })
        ));
    }

    #[test]
    fn debug_output_redacts_the_jwt_secret() {
        let mut vars = BASE.to_vec();
        vars.push((
            "HOOKHUB_JWT_SECRET",
            "a-very-long-production-secret-value-123456",
        ));
        let cfg = Config::from_lookup(lookup(&vars)).unwrap();
        assert!(!format!("{cfg:?}").contains("production-secret"));
    }
}
