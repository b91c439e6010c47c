//! Idempotent provisioning of the AWS resources against the local emulator, through the same
//! SDK clients the functions use. It mirrors `template.yaml`: one table with TTL and four
//! indexes, the delivery queue with its dead-letter queue and redrive policy, and
//! a KMS key with rotation and an alias. Tests provision an isolated stack each, with unique
//! names, so they can run in parallel against one emulator.

use std::time::Duration;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_kms::operation::describe_key::DescribeKeyError;
use aws_sdk_sqs::types::QueueAttributeName;

use crate::aws::{describe_error, AwsClients};
use crate::store::keys;

#[derive(Debug, thiserror::Error)]
#[error("provisioning {resource} failed: {message}")]
pub struct ProvisionError {
    resource: String,
    message: String,
}

impl ProvisionError {
    pub fn new(resource: &str, message: impl Into<String>) -> Self {
        Self {
            resource: resource.to_string(),
            message: message.into(),
        }
    }
}

fn failed<E: std::error::Error + 'static>(resource: &str) -> impl FnOnce(E) -> ProvisionError + '_ {
    move |e| ProvisionError {
        resource: resource.to_string(),
        message: describe_error(&e),
    }
}

#[derive(Debug, Clone)]
pub struct StackNames {
    pub table: String,
    pub queue: String,
    pub dead_letter_queue: String,
    pub kms_alias: String,
}

impl StackNames {
    /// The names `make dev` uses.
    pub fn development() -> Self {
        Self::with_prefix("hookhub-local")
    }

    /// Fresh names for one test, so tests never share state.
    pub fn unique(label: &str) -> Self {
        let suffix = crate::ids::new_id(crate::ids::IdKind::Request)
            .trim_start_matches("req_")
            .to_lowercase();
        Self::with_prefix(&format!("t-{label}-{suffix}"))
    }

    fn with_prefix(prefix: &str) -> Self {
        Self {
            table: prefix.to_string(),
            queue: format!("{prefix}-delivery"),
            dead_letter_queue: format!("{prefix}-delivery-dlq"),
            kms_alias: format!("alias/{prefix}"),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct QueueSettings {
    pub visibility_timeout: Duration,
    /// Receives before the redrive policy moves a message to the dead-letter queue.
    pub max_receive_count: u32,
}

impl Default for QueueSettings {
    fn default() -> Self {
        // As template.yaml: 6x the worker's 90-second timeout, and five tries.
        Self {
            visibility_timeout: Duration::from_secs(540),
            max_receive_count: 5,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ProvisionedStack {
    pub table_name: String,
    pub queue_url: String,
    pub dead_letter_queue_url: String,
    pub kms_key_id: String,
}

impl ProvisionedStack {
    /// The variables `Config::from_env` reads, pointing at this stack.
    pub fn env_vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("HOOKHUB_TABLE", self.table_name.clone()),
            ("HOOKHUB_DELIVERY_QUEUE_URL", self.queue_url.clone()),
            (
                "HOOKHUB_DEAD_LETTER_QUEUE_URL",
                self.dead_letter_queue_url.clone(),
            ),
            ("HOOKHUB_KMS_KEY_ID", self.kms_key_id.clone()),
        ]
    }
}

/// Waits until the emulator answers, or `timeout` passes.
pub async fn wait_until_reachable(
    clients: &AwsClients,
    timeout: Duration,
) -> Result<(), ProvisionError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match clients.dynamodb.list_tables().limit(1).send().await {
            Ok(_) => return Ok(()),
            Err(e) if tokio::time::Instant::now() >= deadline => {
                return Err(failed("emulator connection")(e));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

pub async fn provision(
    clients: &AwsClients,
    names: &StackNames,
    queue: QueueSettings,
) -> Result<ProvisionedStack, ProvisionError> {
    let (table, queues, key) = tokio::join!(
        ensure_table(&clients.dynamodb, &names.table),
        ensure_queues(&clients.sqs, names, queue),
        ensure_key(&clients.kms, &names.kms_alias),
    );
    table?;
    let (queue_url, dead_letter_queue_url) = queues?;
    Ok(ProvisionedStack {
        table_name: names.table.clone(),
        queue_url,
        dead_letter_queue_url,
        kms_key_id: key?,
    })
}

/// Makes `sender` a verified SES identity on the emulator, as a deployment's owner does in
/// SES before alerts can go out from it.
pub async fn ensure_sender_identity(
    clients: &AwsClients,
    sender: &str,
) -> Result<(), ProvisionError> {
    let ses = aws_sdk_sesv2::Client::from_conf(clients.ses.clone());
    match ses
        .create_email_identity()
        .email_identity(sender)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_already_exists_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(failed("SES sender identity")(e)),
    }
}

fn attribute(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .expect("name and type are set")
}

fn key_element(name: &str, key_type: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .expect("name and type are set")
}

/// The table's indexes as `template.yaml` declares them: name, keys, and the attributes
/// projected (`None`: all of them).
const INDEXES: &[(&str, &str, &str, Option<&[&str]>)] = &[
    (keys::GSI1, keys::GSI1_PK, keys::GSI1_SK, None),
    (keys::GSI2, keys::GSI2_PK, keys::GSI2_SK, None),
    (keys::GSI3, keys::GSI3_PK, keys::GSI3_SK, None),
    (
        keys::GSI4,
        keys::GSI4_PK,
        keys::GSI4_SK,
        Some(keys::GSI4_INCLUDED),
    ),
];

fn projection(included: Option<&[&str]>) -> Projection {
    match included {
        None => Projection::builder()
            .projection_type(ProjectionType::All)
            .build(),
        Some(attributes) => Projection::builder()
            .projection_type(ProjectionType::Include)
            .set_non_key_attributes(Some(attributes.iter().map(|a| a.to_string()).collect()))
            .build(),
    }
}

fn index((name, pk, sk, included): (&str, &str, &str, Option<&[&str]>)) -> GlobalSecondaryIndex {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key_element(pk, KeyType::Hash))
        .key_schema(key_element(sk, KeyType::Range))
        .projection(projection(included))
        .build()
        .expect("name, keys and projection are set")
}

/// A dev table made by an older version gains the indexes added since.
async fn add_missing_indexes(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    table: &aws_sdk_dynamodb::types::TableDescription,
) -> Result<(), ProvisionError> {
    let present: Vec<&str> = table
        .global_secondary_indexes()
        .iter()
        .filter_map(|i| i.index_name())
        .collect();
    for &(index_name, pk, sk, included) in INDEXES {
        if present.contains(&index_name) {
            continue;
        }
        let create = aws_sdk_dynamodb::types::CreateGlobalSecondaryIndexAction::builder()
            .index_name(index_name)
            .key_schema(key_element(pk, KeyType::Hash))
            .key_schema(key_element(sk, KeyType::Range))
            .projection(projection(included))
            .build()
            .expect("name, keys and projection are set");
        client
            .update_table()
            .table_name(name)
            .attribute_definitions(attribute(pk))
            .attribute_definitions(attribute(sk))
            .global_secondary_index_updates(
                aws_sdk_dynamodb::types::GlobalSecondaryIndexUpdate::builder()
                    .create(create)
                    .build(),
            )
            .send()
            .await
            .map_err(failed("table index"))?;
    }
    Ok(())
}

async fn ensure_table(client: &aws_sdk_dynamodb::Client, name: &str) -> Result<(), ProvisionError> {
    let existing = match client.describe_table().table_name(name).send().await {
        Ok(out) => out.table,
        Err(SdkError::ServiceError(_)) => None,
        Err(e) => return Err(failed("table")(e)),
    };
    if let Some(table) = &existing {
        add_missing_indexes(client, name, table).await?;
    } else {
        client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(
                [keys::PK, keys::SK]
                    .into_iter()
                    .chain(INDEXES.iter().flat_map(|(_, pk, sk, _)| [*pk, *sk]))
                    .map(attribute)
                    .collect(),
            ))
            .key_schema(key_element(keys::PK, KeyType::Hash))
            .key_schema(key_element(keys::SK, KeyType::Range))
            .set_global_secondary_indexes(Some(INDEXES.iter().copied().map(index).collect()))
            .send()
            .await
            .map_err(failed("table"))?;
    }
    let ttl = client
        .describe_time_to_live()
        .table_name(name)
        .send()
        .await
        .map_err(failed("table TTL"))?;
    let enabled = ttl
        .time_to_live_description()
        .and_then(|d| d.attribute_name())
        .is_some_and(|a| a == keys::TTL);
    if !enabled {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(keys::TTL)
                    .enabled(true)
                    .build()
                    .expect("name and flag are set"),
            )
            .send()
            .await
            .map_err(failed("table TTL"))?;
    }
    Ok(())
}

async fn ensure_queue(
    client: &aws_sdk_sqs::Client,
    name: &str,
    attributes: Vec<(QueueAttributeName, String)>,
) -> Result<String, ProvisionError> {
    match client.get_queue_url().queue_name(name).send().await {
        Ok(out) => {
            let url = out.queue_url().unwrap_or_default().to_string();
            client
                .set_queue_attributes()
                .queue_url(&url)
                .set_attributes(Some(attributes.into_iter().collect()))
                .send()
                .await
                .map_err(failed(name))?;
            Ok(url)
        }
        Err(_) => {
            let out = client
                .create_queue()
                .queue_name(name)
                .set_attributes(Some(attributes.into_iter().collect()))
                .send()
                .await
                .map_err(failed(name))?;
            Ok(out.queue_url().unwrap_or_default().to_string())
        }
    }
}

async fn ensure_queues(
    client: &aws_sdk_sqs::Client,
    names: &StackNames,
    settings: QueueSettings,
) -> Result<(String, String), ProvisionError> {
    const FOURTEEN_DAYS: &str = "1209600";
    let dlq_url = ensure_queue(
        client,
        &names.dead_letter_queue,
        vec![(
            QueueAttributeName::MessageRetentionPeriod,
            FOURTEEN_DAYS.into(),
        )],
    )
    .await?;
    let dlq_arn = client
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(failed("dead-letter queue"))?
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| ProvisionError {
            resource: "dead-letter queue".into(),
            message: "no QueueArn attribute".into(),
        })?;
    let redrive = serde_json::json!({
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": settings.max_receive_count,
    })
    .to_string();
    let queue_url = ensure_queue(
        client,
        &names.queue,
        vec![
            (
                QueueAttributeName::VisibilityTimeout,
                settings.visibility_timeout.as_secs().to_string(),
            ),
            (QueueAttributeName::RedrivePolicy, redrive),
            (
                QueueAttributeName::MessageRetentionPeriod,
                FOURTEEN_DAYS.into(),
            ),
        ],
    )
    .await?;
    Ok((queue_url, dlq_url))
}

async fn ensure_key(client: &aws_sdk_kms::Client, alias: &str) -> Result<String, ProvisionError> {
    match client.describe_key().key_id(alias).send().await {
        Ok(out) => {
            if let Some(id) = out.key_metadata().map(|m| m.key_id()) {
                return Ok(id.to_string());
            }
        }
        Err(SdkError::ServiceError(e))
            if matches!(e.err(), DescribeKeyError::NotFoundException(_)) => {}
        Err(e) => return Err(failed("KMS key")(e)),
    }
    let created = client
        .create_key()
        .description("hookhub secret envelope key (local)")
        .send()
        .await
        .map_err(failed("KMS key"))?;
    let key_id = created
        .key_metadata()
        .map(|m| m.key_id().to_string())
        .ok_or_else(|| ProvisionError {
            resource: "KMS key".into(),
            message: "CreateKey returned no key id".into(),
        })?;
    client
        .enable_key_rotation()
        .key_id(&key_id)
        .send()
        .await
        .map_err(failed("KMS key rotation"))?;
    client
        .create_alias()
        .alias_name(alias)
        .target_key_id(&key_id)
        .send()
        .await
        .map_err(failed("KMS alias"))?;
    Ok(key_id)
}

/// An isolated stack on the test emulator (`HOOKHUB_TEST_ENDPOINT`, set by `make test`), with
/// the application context built on it exactly as a function builds its own.
pub struct TestStack {
    /// Straight to the emulator.
    pub clients: AwsClients,
    /// What the application uses: the same as `clients` unless built `through` a proxy.
    pub app_clients: AwsClients,
    pub stack: ProvisionedStack,
    pub ctx: crate::AppContext,
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
        let config = crate::Config::from_lookup(|name| {
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
        let ctx = crate::AppContext::new(config, &app_clients)
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
            .create(crate::validation::Fields::new(fields))
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
            .create(tenant, crate::validation::Fields::new(fields))
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
    pub fn counted_context(&self, counter: &AwsCallCounter) -> crate::AppContext {
        let clients = counted_clients(&self.app_clients, counter);
        crate::AppContext::new((*self.ctx.config).clone(), &clients)
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
        ses: c.ses.to_builder().interceptor(counter.clone()).build(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attempts_by_event_index_projects_what_the_template_declares() {
        let template = include_str!("../../template.yaml");
        let declared = template
            .lines()
            .find_map(|l| l.trim().strip_prefix("NonKeyAttributes: ["))
            .and_then(|l| l.strip_suffix(']'))
            .expect("gsi4's NonKeyAttributes in template.yaml");
        let declared: Vec<&str> = declared.split(',').map(str::trim).collect();
        assert_eq!(declared, keys::GSI4_INCLUDED);
        let gsi4 = INDEXES.iter().find(|i| i.0 == keys::GSI4).unwrap();
        assert_eq!(gsi4.3, Some(keys::GSI4_INCLUDED));
    }
}
