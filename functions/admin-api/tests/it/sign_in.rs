//! People sign in to the emulator's Cognito user pool through `/api/auth`, with the ID
//! tokens it issues verified against the pool's JWKS: invitation, first sign-in, refresh,
//! sign-out, disable and remove, password reset, throttling, tenant isolation.

use serde_json::{json, Value};

use crate::support::{Api, Reply};

const ROOT: &str = "root@example.com";
const ROOT_PASSWORD: &str = "Root-passw0rd-long!";
const TEMPORARY: &str = "Temporary-passw0rd!";
const CHOSEN: &str = "Alice-chose-this-0ne!";

async fn api(label: &str) -> (Api, String) {
    let api = Api::with_user_pool(label).await;
    api.platform_admin(ROOT, ROOT_PASSWORD).await;
    let root = api.sign_in(ROOT, ROOT_PASSWORD).await;
    (api, root)
}

/// Invites `email` to `tenant` with the temporary password; the person's id.
async fn invite(api: &Api, root: &str, tenant: &str, email: &str) -> String {
    let reply = api
        .call(
            "POST",
            &format!("/api/platform/tenants/{tenant}/users"),
            root,
            Some(json!({ "email": email, "temporaryPassword": TEMPORARY })),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["userId"].as_str().unwrap().to_string()
}

/// First sign-in: the challenge, answered with `CHOSEN`; the ID token.
async fn first_sign_in(api: &Api, email: &str) -> Value {
    let challenge = login(api, email, TEMPORARY).await;
    assert_eq!(challenge.status, 200, "{}", challenge.body);
    assert_eq!(challenge.body["challenge"], "NEW_PASSWORD_REQUIRED");
    assert!(challenge.body.get("idToken").is_none());
    let answered = api
        .post_public(
            "/api/auth/challenge",
            json!({
                "email": email,
                "session": challenge.body["session"],
                "newPassword": CHOSEN,
            }),
        )
        .await;
    assert_eq!(answered.status, 200, "{}", answered.body);
    answered.body
}

async fn login(api: &Api, email: &str, password: &str) -> Reply {
    login_from(api, [127, 0, 0, 1], email, password).await
}

async fn login_from(api: &Api, ip: [u8; 4], email: &str, password: &str) -> Reply {
    api.post_from(
        ip,
        "/api/auth/login",
        json!({ "email": email, "password": password }),
    )
    .await
}

/// The actions of the tenant's audit log, newest first.
async fn audited_actions(api: &Api, token: &str, tenant: &str) -> Vec<String> {
    let audit = api
        .call(
            "GET",
            &format!("/api/platform/tenants/{tenant}/audit"),
            token,
            None,
        )
        .await;
    audit.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str().map(str::to_string))
        .collect()
}

fn id_token(tokens: &Value) -> String {
    tokens["idToken"].as_str().expect("an ID token").to_string()
}

#[tokio::test]
async fn an_invited_tenant_admin_sets_a_password_and_manages_only_its_own_tenant() {
    let (api, root) = api("signin-flow").await;
    let me = api.call("GET", "/api/auth/me", &root, None).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["email"], ROOT);
    assert_eq!(me.body["role"], "platform_admin");
    assert_eq!(me.body["source"], "issuer");

    let reply = api
        .call(
            "POST",
            "/api/platform/tenants",
            &root,
            Some(json!({"name": "Acme"})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let tenant = reply.body["id"].as_str().unwrap().to_string();
    let other = api.create_tenant("Other").await;

    let user_id = invite(&api, &root, &tenant, "Alice@Example.com").await;
    let listed = api
        .call(
            "GET",
            &format!("/api/platform/tenants/{tenant}/users"),
            &root,
            None,
        )
        .await;
    assert_eq!(listed.body["data"][0]["email"], "alice@example.com");
    assert_eq!(listed.body["data"][0]["status"], "invited");
    let again = api
        .call(
            "POST",
            &format!("/api/platform/tenants/{other}/users"),
            &root,
            Some(json!({ "email": "alice@example.com" })),
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(again.body["error"]["code"], "user_exists");

    // A password the policy refuses keeps the challenge open.
    let challenge = login(&api, "alice@example.com", TEMPORARY).await;
    let weak = api
        .post_public(
            "/api/auth/challenge",
            json!({
                "email": "alice@example.com",
                "session": challenge.body["session"],
                "newPassword": "short",
            }),
        )
        .await;
    assert_eq!(weak.status, 422, "{}", weak.body);
    assert_eq!(weak.body["error"]["code"], "password_rejected");
    let made_up = api
        .post_public(
            "/api/auth/challenge",
            json!({ "email": "alice@example.com", "session": "made-up", "newPassword": CHOSEN }),
        )
        .await;
    assert_eq!(made_up.status, 401, "{}", made_up.body);
    assert_eq!(made_up.body["error"]["code"], "session_expired");

    let tokens = first_sign_in(&api, "alice@example.com").await;
    assert_eq!(tokens["user"]["role"], "tenant_admin");
    assert_eq!(tokens["user"]["tenantId"], tenant.as_str());
    assert_eq!(tokens["user"]["userId"], user_id.as_str());
    assert!(tokens["refreshToken"].is_string());
    let alice = id_token(&tokens);

    let own = api.call("GET", "/api/v1/users", &alice, None).await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert_eq!(own.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(own.body["data"][0]["status"], "active");
    assert!(own.body["data"][0]["lastSignInAt"].is_string());

    let created = api
        .call(
            "POST",
            "/api/v1/webhooks",
            &alice,
            Some(json!({ "name": "Orders", "url": "https://example.com/hooks", "events": ["message.received"] })),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let listed = api.call("GET", "/api/v1/webhooks", &alice, None).await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);

    // Another tenant's routes and ids stay out of reach, X-Tenant-Id or not.
    let theirs = api
        .call_as(
            "POST",
            "/api/v1/webhooks",
            &root,
            Some(&other),
            Some(json!({ "name": "Theirs", "url": "https://example.com/other", "events": ["message.received"] })),
        )
        .await;
    assert_eq!(theirs.status, 201, "{}", theirs.body);
    let theirs = theirs.body["id"].as_str().unwrap();
    let reached = api
        .call_as(
            "GET",
            &format!("/api/v1/webhooks/{theirs}"),
            &alice,
            Some(&other),
            None,
        )
        .await;
    assert_eq!(reached.status, 404, "{}", reached.body);
    for (method, path) in [
        ("GET", format!("/api/platform/tenants/{other}/users")),
        ("GET", "/api/platform/users".to_string()),
        ("GET", "/api/platform/tenants".to_string()),
    ] {
        let refused = api.call(method, &path, &alice, None).await;
        assert_eq!(refused.status, 403, "{method} {path}: {}", refused.body);
    }

    let actions = audited_actions(&api, &root, &tenant).await;
    assert!(actions.iter().any(|a| a == "user.invited"), "{actions:?}");
}

#[tokio::test]
async fn wrong_passwords_and_unknown_emails_answer_alike_and_are_throttled() {
    let (api, _root) = api("signin-throttle").await;
    let wrong = login(&api, ROOT, "Wrong-passw0rd!").await;
    let unknown = login(&api, "nobody@example.com", "Wrong-passw0rd!").await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(unknown.status, 401);
    assert_eq!(wrong.body["error"]["code"], "invalid_credentials");

    for _ in 1..hookhub_shared::people::throttle::MAX_FAILURES_PER_EMAIL {
        let reply = login(&api, ROOT, "nope").await;
        assert_eq!(reply.status, 401, "{}", reply.body);
    }
    // Locked: even the right password waits for the window to end.
    let locked = login(&api, ROOT, ROOT_PASSWORD).await;
    assert_eq!(locked.status, 429, "{}", locked.body);
    assert_eq!(locked.body["error"]["code"], "too_many_attempts");
    let retry_after: u64 = locked.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");

    // Many emails from one address: the address is paused, another address is not.
    let attempts = (0..hookhub_shared::people::throttle::MAX_FAILURES_PER_ADDRESS).map(|i| {
        let email = format!("guess{i}@example.com");
        let api = &api;
        async move { login_from(api, [10, 0, 0, 9], &email, "Guess-passw0rd!").await }
    });
    for reply in futures::future::join_all(attempts).await {
        assert_eq!(reply.status, 401, "{}", reply.body);
    }
    let paused = login_from(&api, [10, 0, 0, 9], "fresh@example.com", "Guess-passw0rd!").await;
    assert_eq!(paused.status, 429, "{}", paused.body);
    let elsewhere = login_from(&api, [10, 0, 0, 10], "fresh@example.com", "Guess-passw0rd!").await;
    assert_eq!(elsewhere.status, 401, "{}", elsewhere.body);
}

async fn status_of(api: &Api, token: &str) -> Reply {
    api.call("GET", "/api/v1/users", token, None).await
}

#[tokio::test]
async fn refresh_sign_out_disable_and_remove_end_access_at_once() {
    let (api, root) = api("signin-revoke").await;
    let tenant = api.create_tenant("Acme").await;
    let user_id = invite(&api, &root, &tenant, "bob@example.com").await;
    let tokens = first_sign_in(&api, "bob@example.com").await;
    let refresh_token = tokens["refreshToken"].as_str().unwrap().to_string();

    let refreshed = api
        .post_public(
            "/api/auth/refresh",
            json!({ "refreshToken": refresh_token }),
        )
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert!(refreshed.body.get("refreshToken").is_none());
    assert_eq!(
        status_of(&api, &id_token(&refreshed.body)).await.status,
        200
    );

    // Sign-out: the refresh token and every token issued so far stop working.
    let bob = id_token(&tokens);
    let out = api.call("POST", "/api/auth/logout", &bob, None).await;
    assert_eq!(out.status, 204, "{}", out.body);
    let refused = status_of(&api, &bob).await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.body["error"]["code"], "signed_out");
    // A second later, so that the refreshed token's issue time is after the sign-out: the
    // refresh must still be refused, whether or not the identity provider revoked it.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let refresh = api
        .post_public(
            "/api/auth/refresh",
            json!({ "refreshToken": refresh_token }),
        )
        .await;
    assert_eq!(refresh.status, 401, "{}", refresh.body);
    assert_eq!(refresh.body["error"]["code"], "refresh_refused");
    // Signing in again works at once.
    let bob = api.sign_in("bob@example.com", CHOSEN).await;
    assert_eq!(status_of(&api, &bob).await.status, 200);

    // Disabled: the live token, the password and the refresh token are all refused.
    let attempt = login(&api, "bob@example.com", CHOSEN).await;
    let refresh_token = attempt.body["refreshToken"].as_str().unwrap().to_string();
    let path = format!("/api/platform/tenants/{tenant}/users/{user_id}");
    let disabled = api
        .call("POST", &format!("{path}/disable"), &root, None)
        .await;
    assert_eq!(disabled.status, 200, "{}", disabled.body);
    assert_eq!(disabled.body["status"], "disabled");
    assert_eq!(
        status_of(&api, &bob).await.body["error"]["code"],
        "user_disabled"
    );
    let attempt = login(&api, "bob@example.com", CHOSEN).await;
    assert_eq!(attempt.status, 401, "{}", attempt.body);
    assert_eq!(attempt.body["error"]["code"], "invalid_credentials");
    let refresh = api
        .post_public(
            "/api/auth/refresh",
            json!({ "refreshToken": refresh_token }),
        )
        .await;
    assert_eq!(refresh.status, 401, "{}", refresh.body);

    let enabled = api
        .call("POST", &format!("{path}/enable"), &root, None)
        .await;
    assert_eq!(enabled.status, 200, "{}", enabled.body);
    assert_eq!(enabled.body["status"], "active");
    let bob = api.sign_in("bob@example.com", CHOSEN).await;
    assert_eq!(status_of(&api, &bob).await.status, 200);

    // Removed: gone from the list, the token refused though unexpired, no sign-in.
    let removed = api.call("DELETE", &path, &root, None).await;
    assert_eq!(removed.status, 204, "{}", removed.body);
    assert_eq!(
        status_of(&api, &bob).await.body["error"]["code"],
        "user_removed"
    );
    let listed = api
        .call(
            "GET",
            &format!("/api/platform/tenants/{tenant}/users"),
            &root,
            None,
        )
        .await;
    assert_eq!(listed.body["data"], json!([]));
    let attempt = login(&api, "bob@example.com", CHOSEN).await;
    assert_eq!(attempt.status, 401, "{}", attempt.body);
    let again = api.call("DELETE", &path, &root, None).await;
    assert_eq!(again.status, 404, "{}", again.body);

    // Nobody disables or removes themselves.
    let me = api.call("GET", "/api/auth/me", &root, None).await;
    let root_id = me.body["userId"].as_str().unwrap();
    let own = api
        .call(
            "POST",
            &format!("/api/platform/users/{root_id}/disable"),
            &root,
            None,
        )
        .await;
    assert_eq!(own.status, 409, "{}", own.body);

    let actions = audited_actions(&api, &root, &tenant).await;
    for action in [
        "user.invited",
        "user.disabled",
        "user.enabled",
        "user.removed",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} missing from {actions:?}"
        );
    }
}

#[tokio::test]
async fn platform_admins_invite_platform_admins_and_their_changes_are_audited() {
    let (api, root) = api("signin-platform").await;
    let invited = api
        .call(
            "POST",
            "/api/platform/users",
            &root,
            Some(json!({ "email": "carol@example.com", "temporaryPassword": TEMPORARY })),
        )
        .await;
    assert_eq!(invited.status, 201, "{}", invited.body);
    assert_eq!(invited.body["role"], "platform_admin");
    let tokens = first_sign_in(&api, "carol@example.com").await;
    assert_eq!(tokens["user"]["role"], "platform_admin");
    let listed = api.call("GET", "/api/platform/users", &root, None).await;
    let emails: Vec<&str> = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["email"].as_str())
        .collect();
    // The first admin, made outside hookhub, joined the directory at its first sign-in.
    assert!(
        emails.contains(&ROOT) && emails.contains(&"carol@example.com"),
        "{emails:?}"
    );
    let audit = api.call("GET", "/api/platform/audit", &root, None).await;
    assert_eq!(audit.body["data"][0]["action"], "user.invited");
}

/// The code moto would have emailed: it answers it in a header to a direct call.
async fn emailed_code(api: &Api, email: &str) -> String {
    let pool = api.pool.as_ref().unwrap();
    let response = reqwest::Client::new()
        .post(hookhub_test_support::test_endpoint())
        .header(
            "x-amz-target",
            "AWSCognitoIdentityProviderService.ForgotPassword",
        )
        .header("content-type", "application/x-amz-json-1.1")
        .body(json!({ "ClientId": pool.client_id, "Username": email }).to_string())
        .send()
        .await
        .unwrap();
    response.headers()["x-moto-forgot-password-confirmation-code"]
        .to_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_forgotten_password_is_reset_with_the_emailed_code() {
    let (api, _root) = api("signin-reset").await;
    let known = api
        .post_public("/api/auth/forgot-password", json!({ "email": ROOT }))
        .await;
    let unknown = api
        .post_public(
            "/api/auth/forgot-password",
            json!({ "email": "nobody@example.com" }),
        )
        .await;
    assert_eq!(known.status, 202, "{}", known.body);
    assert_eq!((unknown.status, &unknown.body), (202, &known.body));

    let wrong = api
        .post_public(
            "/api/auth/confirm-forgot-password",
            json!({ "email": ROOT, "code": "moto-confirmation-code:1", "newPassword": CHOSEN }),
        )
        .await;
    assert_eq!(wrong.status, 400, "{}", wrong.body);
    assert_eq!(wrong.body["error"]["code"], "invalid_code");

    let code = emailed_code(&api, ROOT).await;
    let reset = api
        .post_public(
            "/api/auth/confirm-forgot-password",
            json!({ "email": ROOT, "code": code, "newPassword": CHOSEN }),
        )
        .await;
    assert_eq!(reset.status, 204, "{}", reset.body);
    api.sign_in(ROOT, CHOSEN).await;
}

#[tokio::test]
async fn sign_in_input_is_checked_and_needs_a_configured_pool() {
    let (api, _root) = api("signin-input").await;
    for (body, field) in [
        (json!({ "email": ROOT }), "password"),
        (json!({ "password": "x" }), "email"),
        (json!({ "email": "not-an-email", "password": "x" }), "email"),
        (json!({ "email": ROOT, "password": 12 }), "password"),
        (
            json!({ "email": ROOT, "password": "x", "extra": 1 }),
            "extra",
        ),
    ] {
        let reply = api.post_public("/api/auth/login", body.clone()).await;
        assert_eq!(reply.status, 422, "{body}: {}", reply.body);
        assert_eq!(reply.body["error"]["details"][0]["field"], field, "{body}");
    }
    let request = http::Request::builder()
        .method("POST")
        .uri("/api/auth/login")
        .header("content-type", "application/json")
        .body(axum::body::Body::from("{\"email\":"))
        .unwrap();
    assert_eq!(api.send(request).await.status, 400);

    // A deployment without a pool says so rather than failing obscurely.
    let plain = Api::new("signin-none").await;
    let reply = plain
        .post_public(
            "/api/auth/login",
            json!({ "email": ROOT, "password": ROOT_PASSWORD }),
        )
        .await;
    assert_eq!(reply.status, 409, "{}", reply.body);
    let me = plain.call("GET", "/api/auth/me", &plain.admin, None).await;
    assert_eq!(me.body["source"], "shared_secret");
    let out = plain
        .call("POST", "/api/auth/logout", &plain.admin, None)
        .await;
    assert_eq!(out.status, 409, "{}", out.body);
}
