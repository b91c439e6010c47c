//! SDK clients, built once per cold start and shared by every request.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::SharedCredentialsProvider;

#[derive(Clone, Debug)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub kms: aws_sdk_kms::Client,
    /// SMS through SNS goes out on a client made per send (the tenant's region and keys), so
    /// only the configuration is kept: a client built here would load SNS's endpoint rules at
    /// every cold start (≈0.4 M instructions, callgrind) for functions that never send.
    pub sns: aws_sdk_sns::Config,
    /// Cognito, likewise: only the admin API calls it, and only with a user pool configured.
    pub cognito: aws_sdk_cognitoidentityprovider::Config,
    /// What SES's configuration is made from: only the worker sends email, so only the
    /// worker links the SES client (see [`AwsClients::ses`]).
    pub sdk: SdkConfig,
    /// Interceptors for clients made later from `sdk` (the tests count their calls).
    pub interceptors: Vec<aws_smithy_runtime_api::client::interceptors::SharedInterceptor>,
}

impl AwsClients {
    /// In Lambda, straight from the variables the runtime sets (see [`lambda_sdk_config`]);
    /// elsewhere from the standard provider chain (`AWS_ENDPOINT_URL`, profiles, and so on).
    pub async fn from_env() -> Self {
        if let Some(sdk) = lambda_sdk_config(|name| std::env::var(name).ok()) {
            return Self::from_sdk_config(&sdk);
        }
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
            sns: aws_sdk_sns::Config::new(sdk),
            cognito: aws_sdk_cognitoidentityprovider::Config::new(sdk),
            sdk: sdk.clone(),
            interceptors: Vec::new(),
        }
    }

    /// SES's configuration, with the interceptors given to the other clients.
    pub fn ses(&self) -> aws_sdk_sesv2::Config {
        let mut config = aws_sdk_sesv2::Config::new(&self.sdk).to_builder();
        for interceptor in &self.interceptors {
            config.push_interceptor(interceptor.clone());
        }
        config.build()
    }
}

/// The SDK configuration of a Lambda function, read from what the runtime always sets: the
/// region and the execution role's credentials (`AWS_REGION`, `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`). The standard chain would find the same,
/// after building providers for profiles, SSO, IMDS and containers and reading config files
/// that a function does not have: that is cold-start time. `None` outside Lambda or when any
/// of them is missing (then the standard chain decides). The clients fill in the SDK's
/// default retry, timeout, sleep and clock, as they do for a loaded configuration.
pub fn lambda_sdk_config(env: impl Fn(&str) -> Option<String>) -> Option<SdkConfig> {
    env("AWS_LAMBDA_FUNCTION_NAME")?;
    let region = env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION"))?;
    let credentials = aws_sdk_dynamodb::config::Credentials::new(
        env("AWS_ACCESS_KEY_ID")?,
        env("AWS_SECRET_ACCESS_KEY")?,
        env("AWS_SESSION_TOKEN"),
        None,
        "lambda-environment",
    );
    let mut sdk = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(crate::tls::aws_http_client());
    if let Some(endpoint) = env("AWS_ENDPOINT_URL") {
        sdk = sdk.endpoint_url(endpoint);
    }
    Some(sdk.build())
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
