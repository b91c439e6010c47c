//! AWS SNS SMS: `Publish` to a phone number, with the SMS type (Transactional unless the
//! tenant chose Promotional), the sender id and the origination number as message
//! attributes. The tenant's own access keys when it gave them, else the function's role.

use async_trait::async_trait;
use aws_sdk_sns::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sns::types::MessageAttributeValue;

use super::{Accepted, Content, MessageProvider, ProviderResult, Rejected};

pub const DEFAULT_SMS_TYPE: &str = "Transactional";

pub struct SnsSms {
    pub client: aws_sdk_sns::Client,
    pub sms_type: String,
    pub sender_id: Option<String>,
    pub origination_number: Option<String>,
}

/// SNS's error codes worth repeating: throttling and its own internal failures.
fn retryable(code: Option<&str>, status: u16) -> bool {
    matches!(
        code,
        Some(
            "Throttled"
                | "Throttling"
                | "ThrottlingException"
                | "InternalError"
                | "InternalFailure"
                | "KMSThrottling"
                | "ServiceUnavailable"
        )
    ) || status >= 500
}

fn string_attribute(value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .expect("data type is set")
}

#[async_trait]
impl MessageProvider for SnsSms {
    fn name(&self) -> &'static str {
        "sns"
    }

    async fn send(&self, to: &str, content: &Content) -> ProviderResult {
        let Some(text) = content.text() else {
            return Err(Rejected::new(
                "unsupported_content",
                "SNS SMS sends text only",
                false,
            ));
        };
        let mut request = self
            .client
            .publish()
            .phone_number(to)
            .message(text)
            .message_attributes("AWS.SNS.SMS.SMSType", string_attribute(&self.sms_type));
        if let Some(sender_id) = &self.sender_id {
            request =
                request.message_attributes("AWS.SNS.SMS.SenderID", string_attribute(sender_id));
        }
        if let Some(number) = &self.origination_number {
            request = request
                .message_attributes("AWS.MM.SMS.OriginationNumber", string_attribute(number));
        }
        match request.send().await {
            Ok(out) => match out.message_id() {
                Some(id) if !id.is_empty() => Ok(Accepted {
                    provider_message_id: id.to_string(),
                    provider_status: None,
                }),
                _ => Err(Rejected::new(
                    "no_message_id",
                    "SNS answered without a message id",
                    true,
                )),
            },
            Err(SdkError::ServiceError(e)) => {
                let status = e.raw().status().as_u16();
                let code = e.err().code().map(str::to_string);
                let message = e
                    .err()
                    .message()
                    .unwrap_or("SNS refused the message")
                    .to_string();
                Err(Rejected {
                    retryable: retryable(code.as_deref(), status),
                    code: code.unwrap_or_else(|| format!("http_{status}")),
                    message,
                    retry_after: None,
                    http_status: Some(status),
                })
            }
            Err(SdkError::ConstructionFailure(_)) => Err(Rejected::new(
                "invalid_request",
                "the SNS request could not be built",
                false,
            )),
            Err(other) => Err(Rejected::new(
                "network_error",
                crate::aws::describe_error(&other),
                true,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::retryable;

    #[test]
    fn throttling_and_internal_errors_retry() {
        assert!(retryable(Some("Throttled"), 400));
        assert!(retryable(Some("InternalError"), 500));
        assert!(retryable(None, 503));
        assert!(!retryable(Some("InvalidParameter"), 400));
        assert!(!retryable(Some("AuthorizationError"), 403));
    }
}
