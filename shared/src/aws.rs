//! SDK clients, built once per cold start and shared by every request.

use aws_config::{BehaviorVersion, Region, SdkConfig};

#[derive(Clone, Debug)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub kms: aws_sdk_kms::Client,
    pub sns: aws_sdk_sns::Client,
}

impl AwsClients {
    /// From the standard provider chain: the function's role in Lambda; `AWS_ENDPOINT_URL`
    /// and the usual variables locally.
    pub async fn from_env() -> Self {
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .http_client(crate::tls::aws_http_client())
            .load()
            .await;
        Self::from_sdk_config(&sdk)
    }

    /// Clients for a local emulator at `endpoint`, with static test credentials.
    pub async fn for_endpoint(endpoint: &str) -> Self {
        let credentials =
            aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "hookhub-local");
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(credentials)
            .http_client(crate::tls::aws_http_client())
            .load()
            .await;
        Self::from_sdk_config(&sdk)
    }

    pub fn from_sdk_config(sdk: &SdkConfig) -> Self {
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            kms: aws_sdk_kms::Client::new(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
        }
    }
}

/// One line of the SDK's error chain, for logs and health reports; never contains secrets.
pub fn describe_error(err: &(dyn std::error::Error + 'static)) -> String {
    // The context can carry a whole raw response (items and all): keep the head, which names
    // the error, and never a page of stored data.
    const MAX: usize = 600;
    let mut text = aws_sdk_dynamodb::error::DisplayErrorContext(err).to_string();
    if text.len() > MAX {
        let cut = (0..=MAX)
            .rev()
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(0);
        text.truncate(cut);
        text.push('…');
    }
    text
}
