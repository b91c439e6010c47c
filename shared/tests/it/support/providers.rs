//! A local HTTP server that speaks the Twilio, Vonage, WhatsApp Cloud and Graph APIs as their
//! documentation shows: it checks credentials the way each provider does, records every
//! request for the test to inspect field by field, and answers realistic success bodies,
//! or the error bodies a test scripts.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Value};

pub const TWILIO_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const TWILIO_TOKEN: &str = "twilio-auth-token-0123456789abcdef";
pub const TWILIO_FROM: &str = "+15005550006";
pub const TWILIO_SERVICE: &str = "MG0123456789abcdef0123456789abcdef";
pub const VONAGE_KEY: &str = "a1b2c3d4";
pub const VONAGE_SECRET: &str = "vonage-secret-0123456789";
pub const VONAGE_FROM: &str = "HOOKHUB";
pub const WA_TOKEN: &str = "EAATestAccessToken123456789";
pub const WA_PHONE_ID: &str = "106540352242922";
pub const IG_TOKEN: &str = "IGQVJTestAccessToken1234567";
pub const IG_ACCOUNT_ID: &str = "17841400008460056";
pub const WA_WABA_ID: &str = "102290129340398";
/// The Facebook Page linked to the Instagram account.
pub const IG_PAGE_ID: &str = "112233445566778";
/// The tenant's Meta app, as `subscribed_apps` lists it.
pub const META_APP_ID: &str = "987654321012345";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    Twilio,
    Vonage,
    Whatsapp,
    /// Graph calls: account reads (`GET /{version}/{id}`), `debug_token`, and
    /// `/{id}/subscribed_apps`.
    Graph,
}

#[derive(Debug, Clone)]
pub struct Captured {
    pub provider: Provider,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Captured {
    /// A form-encoded body as pairs.
    pub fn form(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

#[derive(Default)]
struct MockState {
    requests: Mutex<Vec<Captured>>,
    scripts: Mutex<HashMap<Provider, VecDeque<(u16, Value)>>>,
    counter: Mutex<u64>,
    /// Seconds from now until a token expires (`debug_token`); unlisted: never.
    expiries: Mutex<HashMap<String, i64>>,
    /// The fields each account's subscription has, by account id.
    subscribed: Mutex<HashMap<String, Vec<String>>>,
}

#[derive(Clone)]
pub struct ProviderMock {
    pub url: String,
    state: Arc<MockState>,
}

impl ProviderMock {
    pub async fn start() -> Self {
        let state = Arc::new(MockState::default());
        let app = Router::new()
            .route("/2010-04-01/Accounts/{sid}/Messages.json", post(twilio))
            .route("/sms/json", post(vonage))
            .route("/{version}/{phone_id}/messages", post(whatsapp))
            .route("/{version}/{object_id}", get(graph_object))
            .route(
                "/{version}/{object_id}/subscribed_apps",
                get(subscribed_apps)
                    .post(subscribed_apps)
                    .delete(subscribed_apps),
            )
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, state }
    }

    /// The next answers of `provider`, in order; after them, success again.
    pub fn script(&self, provider: Provider, answers: Vec<(u16, Value)>) {
        self.state
            .scripts
            .lock()
            .unwrap()
            .entry(provider)
            .or_default()
            .extend(answers);
    }

    /// `debug_token` says this token expires `seconds` from now.
    pub fn expire_in(&self, token: &str, seconds: i64) {
        self.state
            .expiries
            .lock()
            .unwrap()
            .insert(token.to_string(), seconds);
    }

    /// The fields subscribed on an account, as Graph holds them.
    pub fn subscribed(&self, object_id: &str) -> Option<Vec<String>> {
        self.state
            .subscribed
            .lock()
            .unwrap()
            .get(object_id)
            .cloned()
    }

    pub fn requests(&self, provider: Provider) -> Vec<Captured> {
        self.state
            .requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.provider == provider)
            .cloned()
            .collect()
    }

    /// The configuration that points hookhub at this server.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("HOOKHUB_TWILIO_BASE_URL", self.url.clone()),
            ("HOOKHUB_VONAGE_BASE_URL", self.url.clone()),
            ("HOOKHUB_GRAPH_BASE_URL", self.url.clone()),
        ]
    }
}

fn record(state: &MockState, provider: Provider, path: String, headers: HeaderMap, body: Bytes) {
    state.requests.lock().unwrap().push(Captured {
        provider,
        path,
        headers,
        body,
    });
}

fn scripted(state: &MockState, provider: Provider) -> Option<Response> {
    let (status, body) = state
        .scripts
        .lock()
        .unwrap()
        .get_mut(&provider)?
        .pop_front()?;
    let status = StatusCode::from_u16(status).unwrap();
    let mut response = (status, Json(body)).into_response();
    if status == StatusCode::TOO_MANY_REQUESTS {
        response
            .headers_mut()
            .insert("retry-after", "1".parse().unwrap());
    }
    Some(response)
}

fn next_id(state: &MockState) -> u64 {
    let mut n = state.counter.lock().unwrap();
    *n += 1;
    *n
}

async fn twilio(
    State(state): State<Arc<MockState>>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(
        &state,
        Provider::Twilio,
        format!("/2010-04-01/Accounts/{sid}/Messages.json"),
        headers.clone(),
        body.clone(),
    );
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{TWILIO_SID}:{TWILIO_TOKEN}"))
    );
    let authorised = headers
        .get("authorization")
        .is_some_and(|v| v.as_bytes() == expected.as_bytes());
    if !authorised || sid != TWILIO_SID {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"code": 20003, "message": "Authenticate",
                        "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401})),
        )
            .into_response();
    }
    if let Some(answer) = scripted(&state, Provider::Twilio) {
        return answer;
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let n = next_id(&state);
    (
        StatusCode::CREATED,
        Json(json!({
            "account_sid": TWILIO_SID,
            "api_version": "2010-04-01",
            "body": form.get("Body"),
            "date_created": "Thu, 24 Aug 2023 05:01:45 +0000",
            "direction": "outbound-api",
            "error_code": null,
            "error_message": null,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_segments": "1",
            "price": null,
            "sid": format!("SM{n:032x}"),
            "status": "queued",
            "to": form.get("To"),
            "uri": format!("/2010-04-01/Accounts/{TWILIO_SID}/Messages/SM{n:032x}.json"),
        })),
    )
        .into_response()
}

async fn vonage(State(state): State<Arc<MockState>>, headers: HeaderMap, body: Bytes) -> Response {
    record(
        &state,
        Provider::Vonage,
        "/sms/json".into(),
        headers,
        body.clone(),
    );
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    if form.get("api_key").map(String::as_str) != Some(VONAGE_KEY)
        || form.get("api_secret").map(String::as_str) != Some(VONAGE_SECRET)
    {
        // Vonage answers HTTP 200 and puts the failure in the message status.
        return Json(json!({"message-count": "1", "messages": [{"status": "4", "error-text": "Bad Credentials"}]}))
            .into_response();
    }
    if let Some(answer) = scripted(&state, Provider::Vonage) {
        return answer;
    }
    let n = next_id(&state);
    Json(json!({
        "message-count": "1",
        "messages": [{
            "to": form.get("to"),
            "message-id": format!("0A{n:014X}"),
            "status": "0",
            "remaining-balance": "3.14159265",
            "message-price": "0.03330000",
            "network": "12345",
        }]
    }))
    .into_response()
}

fn graph_error(status: StatusCode, code: i64, message: &str) -> Response {
    let kind = if code == 190 {
        "OAuthException"
    } else {
        "GraphMethodException"
    };
    (
        status,
        Json(
            json!({"error": {"message": message, "type": kind, "code": code,
                              "error_subcode": 33, "fbtrace_id": "AbCdEfGh"}}),
        ),
    )
        .into_response()
}

fn bearer_of(headers: &HeaderMap) -> String {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_string()
}

/// `debug_token` as Graph answers it for a token it issued: valid, with its expiry (0 for
/// never) and scopes; `is_valid: false` for one it does not know.
fn debug_token(state: &MockState, query: &HashMap<String, String>) -> Response {
    let token = query.get("input_token").cloned().unwrap_or_default();
    let known = token == WA_TOKEN || token == IG_TOKEN;
    let expires_at = match state.expiries.lock().unwrap().get(&token) {
        Some(seconds) => chrono::Utc::now().timestamp() + seconds,
        None => 0,
    };
    Json(json!({"data": {"app_id": META_APP_ID, "type": "SYSTEM_USER", "application": "hookhub",
                         "is_valid": known, "expires_at": if known { expires_at } else { 0 },
                         "scopes": ["whatsapp_business_messaging", "whatsapp_business_management",
                                    "instagram_basic", "instagram_manage_messages", "pages_messaging"]}}))
    .into_response()
}

/// `/{id}/subscribed_apps`: the WhatsApp Business Account with the WhatsApp token, or the
/// Page (or Instagram account) with the Instagram token, whose POST needs
/// `subscribed_fields`.
async fn subscribed_apps(
    State(state): State<Arc<MockState>>,
    method: axum::http::Method,
    Path((version, object_id)): Path<(String, String)>,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let fields = query.get("subscribed_fields").cloned().unwrap_or_default();
    record(
        &state,
        Provider::Graph,
        format!("{method} /{version}/{object_id}/subscribed_apps?subscribed_fields={fields}"),
        headers.clone(),
        Bytes::new(),
    );
    if let Some(answer) = scripted(&state, Provider::Graph) {
        return answer;
    }
    let page = object_id == IG_PAGE_ID || object_id == IG_ACCOUNT_ID;
    let token = match object_id.as_str() {
        WA_WABA_ID => WA_TOKEN,
        _ if page => IG_TOKEN,
        _ => {
            return graph_error(
                StatusCode::BAD_REQUEST,
                100,
                &format!(
                    "Unsupported {method} request. Object with ID '{object_id}' does not exist"
                ),
            )
        }
    };
    if bearer_of(&headers) != token {
        return graph_error(StatusCode::UNAUTHORIZED, 190, "Invalid OAuth access token");
    }
    let mut subscribed = state.subscribed.lock().unwrap();
    match method {
        axum::http::Method::POST => {
            if page && fields.is_empty() {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    100,
                    "(#100) The parameter subscribed_fields is required.",
                );
            }
            subscribed.insert(
                object_id,
                fields
                    .split(',')
                    .filter(|f| !f.is_empty())
                    .map(str::to_string)
                    .collect(),
            );
            Json(json!({"success": true})).into_response()
        }
        axum::http::Method::DELETE => {
            subscribed.remove(&object_id);
            Json(json!({"success": true})).into_response()
        }
        _ => {
            let data = match subscribed.get(&object_id) {
                None => json!([]),
                Some(_) if !page => json!([{"whatsapp_business_api_data": {
                    "id": META_APP_ID, "link": "https://www.facebook.com/games/?app_id=987654321012345",
                    "name": "hookhub"}}]),
                Some(fields) => json!([{"category": "Business", "link": "https://hookhub.example",
                                        "name": "hookhub", "id": META_APP_ID,
                                        "subscribed_fields": fields}]),
            };
            Json(json!({"data": data})).into_response()
        }
    }
}

/// An account read as the Graph API answers it: the phone number's or Instagram account's
/// fields for its own token, error 190 for a token it does not know, 100 for an id it
/// does not have; and `debug_token`.
async fn graph_object(
    State(state): State<Arc<MockState>>,
    Path((version, object_id)): Path<(String, String)>,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    record(
        &state,
        Provider::Graph,
        format!("/{version}/{object_id}"),
        headers.clone(),
        Bytes::new(),
    );
    if let Some(answer) = scripted(&state, Provider::Graph) {
        return answer;
    }
    if object_id == "debug_token" {
        return debug_token(&state, &query);
    }
    let bearer = |token: &str| {
        headers
            .get("authorization")
            .is_some_and(|v| v.as_bytes() == format!("Bearer {token}").as_bytes())
    };
    let answer = match object_id.as_str() {
        WA_PHONE_ID if bearer(WA_TOKEN) => json!({"id": WA_PHONE_ID, "display_phone_number": "+1 555-078-3881",
                                                   "verified_name": "Acme Bistro", "quality_rating": "GREEN"}),
        IG_ACCOUNT_ID if bearer(IG_TOKEN) => json!({"id": IG_ACCOUNT_ID, "username": "acme.bistro", "name": "Acme Bistro"}),
        WA_PHONE_ID | IG_ACCOUNT_ID => {
            return (
                StatusCode::UNAUTHORIZED,
                Json(json!({"error": {"message": "Invalid OAuth access token - Cannot parse access token",
                                      "type": "OAuthException", "code": 190, "fbtrace_id": "AbCdEfGh"}})),
            )
                .into_response()
        }
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": {"message": format!("Unsupported get request. Object with ID '{object_id}' does not exist"),
                                      "type": "GraphMethodException", "code": 100, "error_subcode": 33, "fbtrace_id": "AbCdEfGh"}})),
            )
                .into_response()
        }
    };
    Json(answer).into_response()
}

async fn whatsapp(
    State(state): State<Arc<MockState>>,
    Path((version, phone_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(
        &state,
        Provider::Whatsapp,
        format!("/{version}/{phone_id}/messages"),
        headers.clone(),
        body.clone(),
    );
    let authorised = headers
        .get("authorization")
        .is_some_and(|v| v.as_bytes() == format!("Bearer {WA_TOKEN}").as_bytes());
    if !authorised {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"message": "Invalid OAuth access token - Cannot parse access token",
                                  "type": "OAuthException", "code": 190, "fbtrace_id": "AbCdEfGh"}})),
        )
            .into_response();
    }
    if phone_id != WA_PHONE_ID {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": {"message": "Unsupported post request.", "type": "GraphMethodException",
                                  "code": 100, "error_subcode": 33, "fbtrace_id": "AbCdEfGh"}})),
        )
            .into_response();
    }
    if let Some(answer) = scripted(&state, Provider::Whatsapp) {
        return answer;
    }
    let sent: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let n = next_id(&state);
    Json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": sent["to"], "wa_id": sent["to"]}],
        "messages": [{"id": format!("wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI{n:08}"), "message_status": "accepted"}]
    }))
    .into_response()
}

/// Realistic error bodies, as each provider documents them.
pub fn twilio_error(code: u32, status: u16, message: &str) -> (u16, Value) {
    (
        status,
        json!({"code": code, "message": message,
               "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": status}),
    )
}

pub fn vonage_error(status: &str, text: &str) -> (u16, Value) {
    (
        200,
        json!({"message-count": "1", "messages": [{"status": status, "error-text": text}]}),
    )
}

pub fn whatsapp_error(code: u32, status: u16, message: &str) -> (u16, Value) {
    (
        status,
        json!({"error": {"message": message, "type": "OAuthException", "code": code,
                         "error_data": {"messaging_product": "whatsapp", "details": message},
                         "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam"}}),
    )
}
