//! Calls the admin router in-process, as Lambda and the local runner do, against an isolated
//! stack on the emulator.
#![allow(dead_code)]

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use hookhub_shared::auth::{mint_for, Role};
use hookhub_test_support::TestStack;
use hookhub_test_support::{ensure_platform_admin, LocalUserPool};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

pub struct Api {
    pub stack: TestStack,
    pub admin: String,
    /// The user pool people sign in to, for stacks built `with_user_pool`.
    pub pool: Option<LocalUserPool>,
}

pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Value,
}

impl Api {
    pub async fn new(label: &str) -> Self {
        let stack = TestStack::new(label).await;
        let admin = mint_for(
            stack.ctx.config.jwt_secret().unwrap(),
            "root",
            Role::PlatformAdmin,
            None,
            1,
        );
        Self {
            stack,
            admin,
            pool: None,
        }
    }

    /// An API whose people sign in to a user pool of its own.
    pub async fn with_user_pool(label: &str) -> Self {
        let (stack, pool) = TestStack::with_user_pool(label).await;
        let admin = mint_for(
            stack.ctx.config.jwt_secret().unwrap(),
            "root",
            Role::PlatformAdmin,
            None,
            1,
        );
        Self {
            stack,
            admin,
            pool: Some(pool),
        }
    }

    pub fn cognito(&self) -> aws_sdk_cognitoidentityprovider::Client {
        aws_sdk_cognitoidentityprovider::Client::from_conf(self.stack.clients.cognito.clone())
    }

    /// A platform admin in the pool who signs in with `password` straight away.
    pub async fn platform_admin(&self, email: &str, password: &str) {
        let pool = self.pool.as_ref().expect("a stack with a user pool");
        ensure_platform_admin(&self.cognito(), pool, email, password)
            .await
            .expect("platform admin created");
    }

    /// An unauthenticated POST of JSON from `ip`.
    pub async fn post_from(&self, ip: [u8; 4], path: &str, body: Value) -> Reply {
        let request = http::Request::builder()
            .method("POST")
            .uri(path)
            .header("content-type", "application/json")
            .extension(ConnectInfo(SocketAddr::from((ip, 40000))))
            .body(Body::from(serde_json::to_vec(&body).unwrap()))
            .unwrap();
        self.send(request).await
    }

    pub async fn post_public(&self, path: &str, body: Value) -> Reply {
        self.post_from([127, 0, 0, 1], path, body).await
    }

    /// Signs in; the ID token.
    pub async fn sign_in(&self, email: &str, password: &str) -> String {
        let reply = self
            .post_public(
                "/api/auth/login",
                serde_json::json!({ "email": email, "password": password }),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body["idToken"]
            .as_str()
            .expect("tokens, not a challenge")
            .to_string()
    }

    pub fn tenant_admin(&self, tenant_id: &str) -> String {
        mint_for(
            self.stack.ctx.config.jwt_secret().unwrap(),
            "alice",
            Role::TenantAdmin,
            Some(tenant_id),
            1,
        )
    }

    pub async fn send(&self, request: http::Request<Body>) -> Reply {
        let response = admin_api::router(self.stack.ctx.clone())
            .oneshot(request)
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A request from 127.0.0.1 (as the local runner sees it) with a bearer token.
    pub fn request(
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> http::request::Builder {
        let mut builder = http::Request::builder().method(method).uri(path);
        if let Some(t) = token {
            builder = builder.header("authorization", format!("Bearer {t}"));
        }
        if body.is_some() {
            builder = builder.header("content-type", "application/json");
        }
        builder.extension(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))))
    }

    pub async fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Reply {
        self.call_as(method, path, token, None, body).await
    }

    pub async fn call_as(
        &self,
        method: &str,
        path: &str,
        token: &str,
        tenant: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut builder = Self::request(method, path, Some(token), body.as_ref());
        if let Some(t) = tenant {
            builder = builder.header("x-tenant-id", t);
        }
        let body = match body {
            Some(v) => Body::from(serde_json::to_vec(&v).unwrap()),
            None => Body::empty(),
        };
        self.send(builder.body(body).unwrap()).await
    }

    pub async fn create_tenant(&self, name: &str) -> String {
        let reply = self
            .call(
                "POST",
                "/api/platform/tenants",
                &self.admin,
                Some(serde_json::json!({ "name": name })),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        reply.body["id"].as_str().unwrap().to_string()
    }
}
