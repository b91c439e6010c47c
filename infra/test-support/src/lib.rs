//! The test harness: an isolated stack on the test emulator per test, with the application
//! context built on it as a function builds its own, and a counter of the AWS calls a
//! context makes (with outages injected on demand). A dev-dependency only: nothing here is
//! linked into a Lambda function.

use hookhub_local::provision::{ensure_sender_identity, provision};
use hookhub_shared::aws::AwsClients;

pub use hookhub_local::provision::user_pool::{
    ensure_platform_admin, ensure_user_pool, generate_password, LocalUserPool,
};
pub use hookhub_local::provision::{ProvisionedStack, QueueSettings, StackNames};

/// An isolated stack on the test emulator (`HOOKHUB_TEST_ENDPOINT`, set by `make test`), with
/// the application context built on it exactly as a function builds its own.
pub struct TestStack {
    /// Straight to the emulator.
    pub clients: AwsClients,
    /// What the application uses: the same as `clients` unless built `through` a proxy.
    pub app_clients: AwsClients,
    pub stack: ProvisionedStack,
    pub ctx: hookhub_shared::AppContext,
}

impl TestStack {
    pub async fn new(label: &str) -> Self {
        Self::with_queue(label, QueueSettings::default()).await
    }

    pub async fn with_queue(label: &str, queue: QueueSettings) -> Self {
        Self::with_settings(label, queue, &[]).await
    }

    /// A stack whose configuration also has `overrides` (provider base URLs, say).
    pub async fn with_settings(
        label: &str,
        queue: QueueSettings,
        overrides: &[(&str, String)],
    ) -> Self {
        Self::build(label, queue, overrides, None).await
    }

    /// A stack provisioned on the test emulator whose application reaches AWS through
    /// `app_endpoint` instead (a proxy that can cut the connection, say); `clients` still go
    /// straight to the emulator, for the test's own checks.
    pub async fn through(label: &str, queue: QueueSettings, app_endpoint: &str) -> Self {
        Self::build(label, queue, &[], Some(app_endpoint)).await
    }

    async fn build(
        label: &str,
        queue: QueueSettings,
        overrides: &[(&str, String)],
        app_endpoint: Option<&str>,
    ) -> Self {
        let clients = AwsClients::for_endpoint(&test_endpoint()).await;
        let stack = provision(&clients, &StackNames::unique(label), queue)
            .await
            .expect("provisioning the test stack");
        let vars = stack.env_vars();
        let config = hookhub_shared::Config::from_lookup(|name| {
            if let Some((_, v)) = overrides.iter().find(|(n, _)| *n == name) {
                return Some(v.clone());
            }
            match name {
                "HOOKHUB_LOCAL" | "HOOKHUB_ALLOW_PRIVATE_TARGETS" => Some("true".into()),
                _ => vars
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.clone()),
            }
        })
        .expect("test configuration");
        let app_clients = match app_endpoint {
            Some(endpoint) => AwsClients::for_endpoint(endpoint).await,
            None => clients.clone(),
        };
        if let Some(sender) = &config.alert_sender {
            ensure_sender_identity(&clients, sender)
                .await
                .expect("verifying the alert sender");
        }
        let ctx = hookhub_shared::AppContext::new(config, &app_clients)
            .with_user_pool(&app_clients)
            .with_mailer(&app_clients);
        Self {
            clients,
            app_clients,
            stack,
            ctx,
        }
    }
}

impl TestStack {
    /// Creates a tenant as POST /api/platform/tenants does (with its subscription index);
    /// its id.
    pub async fn create_tenant(&self, name: &str) -> String {
        let fields = serde_json::json!({ "name": name })
            .as_object()
            .cloned()
            .expect("an object");
        self.ctx
            .tenants()
            .create(
                hookhub_shared::tenants::TenantCreate::read(
                    hookhub_shared::validation::Fields::new(fields),
                )
                .expect("a valid tenant"),
            )
            .await
            .expect("tenant created")
            .id
    }

    /// Registers an endpoint for `tenant` from its JSON fields (as POST /api/v1/webhooks
    /// takes them); its id.
    pub async fn create_endpoint(&self, tenant: &str, fields: serde_json::Value) -> String {
        let fields = fields
            .as_object()
            .cloned()
            .expect("endpoint fields are a JSON object");
        self.ctx
            .endpoints()
            .create(tenant, hookhub_shared::validation::Fields::new(fields))
            .await
            .expect("endpoint created")
            .endpoint
            .id
    }

    /// Takes `count` messages off the delivery queue, waiting for them (as Lambda's event
    /// source would; they stay in flight until deleted or their visibility times out), for
    /// 30 seconds at most: a test fails rather than hangs.
    pub async fn receive(&self, count: usize) -> Vec<aws_sdk_sqs::types::Message> {
        let mut taken = Vec::with_capacity(count);
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        while taken.len() < count {
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} of {count} messages on the delivery queue after 30 s",
                taken.len()
            );
            let out = self
                .clients
                .sqs
                .receive_message()
                .queue_url(&self.stack.queue_url)
                .max_number_of_messages((count - taken.len()).min(10) as i32)
                .wait_time_seconds(1)
                .send()
                .await
                .expect("receive from the delivery queue");
            taken.extend(out.messages.unwrap_or_default());
        }
        taken
    }

    /// Messages on a queue: visible, in flight and delayed.
    pub async fn queue_depth(&self, url: &str) -> usize {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let out = self
            .clients
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(A::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .expect("queue attributes");
        out.attributes()
            .map(|a| a.values().filter_map(|v| v.parse::<usize>().ok()).sum())
            .unwrap_or(0)
    }
}

/// The emulator the tests run against. Tests fail, not skip, without it.
pub fn test_endpoint() -> String {
    std::env::var("HOOKHUB_TEST_ENDPOINT").expect(
        "HOOKHUB_TEST_ENDPOINT is not set: run the tests with `make test`, which starts the emulator",
    )
}

/// Counts the AWS requests a context makes, by operation (`PutItem`, `SendMessageBatch`,
/// `Decrypt`...), with an SDK interceptor on the same clients production builds. The cost
/// model in the README comes from these counts. It can also refuse chosen operations before
/// they leave, as an outage of one AWS API would while the rest keep working, for tests of
/// what a half-done sequence of calls leaves behind; refused calls are counted too.
#[derive(Debug, Clone, Default)]
pub struct AwsCallCounter {
    counts: std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, usize>>>,
    refused: std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>,
    permissions: std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<IamPermission>>>,
    /// The message body sizes of each SendMessageBatch, in bytes.
    sqs_batches: std::sync::Arc<std::sync::Mutex<Vec<Vec<usize>>>>,
}

/// An IAM action a request needs and the resource it needs it on, as AWS authorises it:
/// `("dynamodb:GetItem", "table/NAME")`, `("dynamodb:Query", "table/NAME/index/gsi1")`,
/// `("sqs:SendMessage", "queue/NAME")`, `("kms:Decrypt", "key")`, `("sns:Publish", "*")`.
pub type IamPermission = (String, String);

impl aws_sdk_dynamodb::config::Intercept for AwsCallCounter {
    fn name(&self) -> &'static str {
        "aws-call-counter"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let operation = operation_name(context.request());
        if operation == "SendMessageBatch" {
            self.sqs_batches
                .lock()
                .expect("batches lock")
                .push(message_sizes(context.request()));
        }
        self.permissions
            .lock()
            .expect("permissions lock")
            .extend(iam_permissions(context.request(), &operation));
        *self
            .counts
            .lock()
            .expect("counter lock")
            .entry(operation.clone())
            .or_insert(0) += 1;
        if self
            .refused
            .lock()
            .expect("outage lock")
            .contains(&operation)
        {
            return Err(format!("{operation} is down (injected outage)").into());
        }
        Ok(())
    }
}

/// The sizes of a SendMessageBatch request's message bodies.
fn message_sizes(request: &aws_smithy_runtime_api::http::Request) -> Vec<usize> {
    let body: serde_json::Value = request
        .body()
        .bytes()
        .and_then(|b| serde_json::from_slice(b).ok())
        .unwrap_or_default();
    body["Entries"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["MessageBody"].as_str().map_or(0, str::len))
        .collect()
}

/// The operation a request calls (`PutItem`, `SendMessageBatch`...): JSON protocols name it
/// in X-Amz-Target, query protocols (SNS) in `Action=`.
fn operation_name(request: &aws_smithy_runtime_api::http::Request) -> String {
    // SES v2 is a REST protocol: the operation is the method and path.
    if request.uri().contains("/v2/email/outbound-emails") {
        return "SendEmail".into();
    }
    if request.uri().contains("/v2/email/identities") {
        return "CreateEmailIdentity".into();
    }
    match request.headers().get("x-amz-target") {
        Some(target) => target.rsplit('.').next().unwrap_or_default().to_string(),
        None => request
            .body()
            .bytes()
            .and_then(|b| std::str::from_utf8(b).ok())
            .and_then(|b| b.split('&').find_map(|p| p.strip_prefix("Action=")))
            .unwrap_or("unknown")
            .to_string(),
    }
}

/// What IAM authorises for one request: batch and transaction calls are authorised per item
/// by the item's own action on its own table (`TransactWriteItems` by `PutItem`, `UpdateItem`,
/// `DeleteItem` and `ConditionCheckItem`), SQS batches by the single-message action.
fn iam_permissions(
    request: &aws_smithy_runtime_api::http::Request,
    operation: &str,
) -> Vec<IamPermission> {
    let body: serde_json::Value = request
        .body()
        .bytes()
        .and_then(|b| serde_json::from_slice(b).ok())
        .unwrap_or_default();
    let service = request
        .headers()
        .get("x-amz-target")
        .and_then(|t| t.split('.').next())
        .unwrap_or_default();
    let str_of = |v: &serde_json::Value, key: &str| v[key].as_str().unwrap_or("?").to_string();
    let table = |v: &serde_json::Value| format!("table/{}", str_of(v, "TableName"));
    let one = |action: &str, resource: String| vec![(action.to_string(), resource)];
    if service.starts_with("DynamoDB") {
        let action = |op: &str| format!("dynamodb:{op}");
        return match operation {
            "Query" | "Scan" => match body["IndexName"].as_str() {
                Some(index) => one(
                    &action(operation),
                    format!("{}/index/{index}", table(&body)),
                ),
                None => one(&action(operation), table(&body)),
            },
            "BatchGetItem" | "BatchWriteItem" => body["RequestItems"]
                .as_object()
                .into_iter()
                .flat_map(|tables| tables.keys())
                .map(|name| (action(operation), format!("table/{name}")))
                .collect(),
            "TransactWriteItems" | "TransactGetItems" => body["TransactItems"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|item| item.as_object()?.iter().next())
                .map(|(kind, part)| {
                    let op = match kind.as_str() {
                        "ConditionCheck" => "ConditionCheckItem".to_string(),
                        other => format!("{other}Item"),
                    };
                    (action(&op), table(part))
                })
                .collect(),
            _ => one(&action(operation), table(&body)),
        };
    }
    if service == "AmazonSQS" {
        let queue = str_of(&body, "QueueUrl");
        let name = queue.rsplit('/').next().unwrap_or_default();
        let op = operation.strip_suffix("Batch").unwrap_or(operation);
        return one(&format!("sqs:{op}"), format!("queue/{name}"));
    }
    if service == "TrentService" {
        return one(&format!("kms:{operation}"), "key".to_string());
    }
    if service.starts_with("AWSCognitoIdentityProviderService") {
        // Signing in is Cognito's public API, authorised by the app client, not by IAM.
        if !operation.starts_with("Admin") && body.get("UserPoolId").is_none() {
            return Vec::new();
        }
        return one(
            &format!("cognito-idp:{operation}"),
            format!("userpool/{}", str_of(&body, "UserPoolId")),
        );
    }
    if operation == "SendEmail" {
        // SES authorises a send against the identity that verified the sender: the address
        // itself, or its domain. The policy grants both, so both are asked for here.
        let from = str_of(&body, "FromEmailAddress");
        let domain = from.rsplit('@').next().unwrap_or_default().to_string();
        return vec![
            ("ses:SendEmail".to_string(), format!("identity/{from}")),
            ("ses:SendEmail".to_string(), format!("identity/{domain}")),
        ];
    }
    // Query protocols (SNS) name the action in the form body; a text to a phone number has
    // no topic to scope it to.
    one(&format!("sns:{operation}"), "*".to_string())
}

impl AwsCallCounter {
    /// Every permission the requests so far needed (`take` leaves these).
    pub fn permissions(&self) -> std::collections::BTreeSet<IamPermission> {
        self.permissions.lock().expect("permissions lock").clone()
    }

    /// The counts so far, and a fresh start.
    pub fn take(&self) -> std::collections::BTreeMap<String, usize> {
        std::mem::take(&mut self.counts.lock().expect("counter lock"))
    }

    /// The message body sizes of every SendMessageBatch so far, one list per batch.
    pub fn sqs_batches(&self) -> Vec<Vec<usize>> {
        self.sqs_batches.lock().expect("batches lock").clone()
    }

    /// From now on, requests to `operations` fail before they are sent; only those.
    pub fn refuse(&self, operations: &[&str]) {
        *self.refused.lock().expect("outage lock") =
            operations.iter().map(|o| o.to_string()).collect();
    }
}

impl TestStack {
    /// The application context on this stack, with every AWS client counting its calls.
    pub fn counted_context(&self, counter: &AwsCallCounter) -> hookhub_shared::AppContext {
        let clients = counted_clients(&self.app_clients, counter);
        hookhub_shared::AppContext::new((*self.ctx.config).clone(), &clients)
            .with_user_pool(&clients)
            .with_mailer(&clients)
    }
}

/// The same clients, each counting its calls with `counter`.
pub fn counted_clients(c: &AwsClients, counter: &AwsCallCounter) -> AwsClients {
    AwsClients {
        dynamodb: aws_sdk_dynamodb::Client::from_conf(
            c.dynamodb
                .config()
                .to_builder()
                .interceptor(counter.clone())
                .build(),
        ),
        sqs: aws_sdk_sqs::Client::from_conf(
            c.sqs
                .config()
                .to_builder()
                .interceptor(counter.clone())
                .build(),
        ),
        kms: aws_sdk_kms::Client::from_conf(
            c.kms
                .config()
                .to_builder()
                .interceptor(counter.clone())
                .build(),
        ),
        sns: c.sns.to_builder().interceptor(counter.clone()).build(),
        cognito: c.cognito.to_builder().interceptor(counter.clone()).build(),
        sdk: c.sdk.clone(),
        interceptors: vec![
            aws_smithy_runtime_api::client::interceptors::SharedInterceptor::new(counter.clone()),
        ],
    }
}

impl TestStack {
    /// A test stack whose admin API signs people in to a fresh user pool of its own.
    pub async fn with_user_pool(label: &str) -> (Self, LocalUserPool) {
        let endpoint = test_endpoint();
        let clients = AwsClients::for_endpoint(&endpoint).await;
        let name = StackNames::unique(label).table;
        let pool = ensure_user_pool(
            &aws_sdk_cognitoidentityprovider::Client::from_conf(clients.cognito.clone()),
            &name,
            &endpoint,
        )
        .await
        .expect("provisioning the test user pool");
        let stack = Self::with_settings(label, QueueSettings::default(), &pool.env_vars()).await;
        (stack, pool)
    }
}
