//! Reading back from the emulator what hookhub sent it: the SMS its SNS holds, and the
//! requests it received while recording (for attributes the SMS record does not keep).
#![allow(dead_code)]

use std::collections::HashMap;

use base64::Engine;
use hookhub_test_support::test_endpoint;
use serde_json::Value;

/// The emulator's own API. Its `data.json` dumps every model of every service, including
/// the other tests' DynamoDB items as they change; a dump that meets one mid-write fails
/// with a 500 (a `DynamoType` key in its JSON), so a failed dump is asked for again.
async fn moto_api(path: &str) -> String {
    let mut last = None;
    for _ in 0..10 {
        let response = reqwest::Client::new()
            .post(format!("{}/moto-api/{path}", test_endpoint()))
            .send()
            .await
            .unwrap();
        if response.status().is_success() {
            return response.text().await.unwrap();
        }
        last = Some(response.status());
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("moto-api/{path}: {last:?}, ten times")
}

/// Every SMS the emulator's SNS has published: `message_id`, `phone_number`, `message`.
pub async fn published_sms() -> Vec<Value> {
    let data: Value = serde_json::from_str(&moto_api("data.json").await).unwrap();
    data["sns"]["SMS"].as_array().cloned().unwrap_or_default()
}

/// One request the emulator received.
#[derive(Debug)]
pub struct RecordedRequest {
    pub form: HashMap<String, String>,
    pub authorization: String,
}

impl RecordedRequest {
    /// A message attribute of an SNS Publish: (DataType, StringValue).
    pub fn attribute(&self, name: &str) -> Option<(String, String)> {
        let entry = self
            .form
            .iter()
            .find(|(k, v)| {
                k.starts_with("MessageAttributes.entry.") && k.ends_with(".Name") && *v == name
            })?
            .0
            .trim_end_matches(".Name")
            .to_string();
        Some((
            self.form.get(&format!("{entry}.Value.DataType"))?.clone(),
            self.form
                .get(&format!("{entry}.Value.StringValue"))?
                .clone(),
        ))
    }
}

/// Records the requests the emulator receives until stopped.
pub struct Recorder;

impl Recorder {
    pub async fn start() -> Self {
        moto_api("recorder/start-recording").await;
        Recorder
    }

    /// Stops recording; the recorded form-encoded requests whose body contains every
    /// needle (URL-encoded as the SDK sends them).
    pub async fn stop_and_find(self, action: &str, phone: &str) -> Vec<RecordedRequest> {
        moto_api("recorder/stop-recording").await;
        let log = moto_api("recorder/download-recording").await;
        let phone = url::form_urlencoded::byte_serialize(phone.as_bytes()).collect::<String>();
        log.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter_map(|entry| {
                let body = entry["body"].as_str()?;
                let body = if entry["body_encoded"] == true {
                    String::from_utf8(
                        base64::engine::general_purpose::STANDARD
                            .decode(body)
                            .ok()?,
                    )
                    .ok()?
                } else {
                    body.to_string()
                };
                if !body.contains(action) || !body.contains(&phone) {
                    return None;
                }
                let headers = entry["headers"].as_object()?;
                let authorization = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
                    .and_then(|(_, v)| v.as_str())
                    .unwrap_or_default()
                    .to_string();
                Some(RecordedRequest {
                    form: url::form_urlencoded::parse(body.as_bytes())
                        .into_owned()
                        .collect(),
                    authorization,
                })
            })
            .collect()
    }
}
