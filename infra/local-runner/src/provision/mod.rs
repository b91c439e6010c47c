//! Idempotent provisioning of the AWS resources against the local emulator (for `make dev`
//! and for the tests' stacks), through the same
//! SDK clients the functions use. It mirrors `template.yaml`: one table with TTL and four
//! indexes, the delivery queue with its dead-letter queue and redrive policy, and
//! a KMS key with rotation and an alias. Tests provision an isolated stack each, with unique
//! names, so they can run in parallel against one emulator.

pub mod user_pool;

use std::time::Duration;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_kms::operation::describe_key::DescribeKeyError;
use aws_sdk_sqs::types::QueueAttributeName;

use hookhub_shared::aws::{describe_error, AwsClients};
use hookhub_shared::store::keys;

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
        let suffix = hookhub_shared::ids::new_id(hookhub_shared::ids::IdKind::Request)
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
    let ses = aws_sdk_sesv2::Client::from_conf(clients.ses());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attempts_by_event_index_projects_what_the_template_declares() {
        let template = include_str!("../../../../template.yaml");
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
