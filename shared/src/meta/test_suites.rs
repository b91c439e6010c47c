//! Test suites: one realistic sample body per event kind, built from the
//! account and sender a tenant admin gives; executing a suite signs each body with the
//! tenant's own app secret and sends it through the real ingress service, so verification,
//! splitting, storage, deduplication and fan-out are all exercised.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::ingest::{IngestError, MetaIngest};
use super::samples::{cases, SampleParams};
use super::split::Channel;
use crate::error::{ServiceError, ServiceResult};
use crate::ids::{self, new_id, IdKind};
use crate::integrations::IntegrationKind;
use crate::signing::body_hmac;
use crate::store::{from_item, keys, to_item, Table};

const SUITE_RETENTION: Duration = Duration::from_secs(30 * 86_400);

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SuiteCase {
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub channel: Channel,
    pub expected_type: String,
}

/// A suite of realistic signed samples, one per event kind, to run through the real
/// ingress path.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = MetaTestSuite))]
#[serde(rename_all = "camelCase")]
pub struct TestSuite {
    #[cfg_attr(feature = "openapi", schema(example = "ts_01JDQ7Y3ZK5V8X9W2M4N6P8R0T"))]
    pub id: String,
    #[serde(flatten)]
    pub params: SampleParams,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub cases: Vec<SuiteCase>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    /// the last run's results (as POST …/execute answered)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>, nullable = false))]
    pub last_run: Option<Value>,
}

/// A run of a suite (or of one of its cases): each case's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = MetaTestRun))]
#[serde(rename_all = "camelCase")]
pub struct TestRun {
    pub run_id: String,
    pub suite_id: String,
    /// the one case run, when only one was
    pub case: Option<String>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub executed_at: String,
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub results: Vec<CaseResult>,
}

/// One sample sent through the ingress, and what was stored from it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CaseResult {
    pub name: String,
    pub expected_type: &'static str,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub status: CaseStatus,
    /// what the ingress answered
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub http_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub stored_type: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub meta_event_id: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub natural_id: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub duration_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub error: Option<String>,
    /// why it was skipped
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum CaseStatus {
    Passed,
    Failed,
    #[default]
    Skipped,
}

#[derive(Clone)]
pub struct TestSuites {
    table: Table,
    ingest: MetaIngest,
}

impl TestSuites {
    pub fn new(table: Table, ingest: MetaIngest) -> Self {
        Self { table, ingest }
    }

    async fn save(&self, tenant_id: &str, suite: &TestSuite) -> ServiceResult<()> {
        let mut item = to_item(&keys::meta_test_suite(tenant_id, &suite.id), suite)?;
        item.insert(
            keys::TTL.into(),
            AttributeValue::N(crate::time::ttl_after(SUITE_RETENTION).to_string()),
        );
        self.table.put(item).await?;
        Ok(())
    }

    pub async fn create(&self, tenant_id: &str, params: SampleParams) -> ServiceResult<TestSuite> {
        let suite = TestSuite {
            id: new_id(IdKind::TestSuite),
            cases: cases(&params, "", 0)
                .into_iter()
                .map(|c| SuiteCase {
                    name: c.name.into(),
                    channel: c.channel,
                    expected_type: c.expected_type.into(),
                })
                .collect(),
            params,
            created_at: crate::time::now_rfc3339(),
            last_run: None,
        };
        self.save(tenant_id, &suite).await?;
        Ok(suite)
    }

    pub async fn get(&self, tenant_id: &str, suite_id: &str) -> ServiceResult<TestSuite> {
        if !ids::is_valid(IdKind::TestSuite, suite_id) {
            return Err(ServiceError::NotFound("test suite"));
        }
        let item = self
            .table
            .get(&keys::meta_test_suite(tenant_id, suite_id))
            .await?
            .ok_or(ServiceError::NotFound("test suite"))?;
        Ok(from_item(item)?)
    }

    /// The tenant's suites, newest first (suites are kept 30 days).
    pub async fn list(
        &self,
        tenant_id: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> ServiceResult<(Vec<TestSuite>, Option<String>)> {
        Ok(self
            .table
            .query_records(
                crate::store::Query::new(
                    crate::store::Index::Primary,
                    keys::meta_test_suites_partition(tenant_id),
                )
                .newest_first()
                .page(limit, cursor),
            )
            .await?)
    }

    /// Runs every case with fresh Meta ids, or only the case named `only`; a case whose
    /// channel has no enabled integration with an app secret is skipped, with the reason.
    pub async fn execute(
        &self,
        tenant_id: &str,
        suite_id: &str,
        only: Option<&str>,
    ) -> ServiceResult<TestRun> {
        let mut suite = self.get(tenant_id, suite_id).await?;
        if let Some(name) = only {
            if !suite.cases.iter().any(|c| c.name == name) {
                return Err(ServiceError::NotFound("test case"));
            }
        }
        let receiving = self
            .ingest
            .tenant_integrations(tenant_id)
            .await
            .map_err(|e| match e {
                IngestError::UnknownTenant => ServiceError::NotFound("tenant"),
                other => ServiceError::FailedPrecondition(other.to_string()),
            })?;
        let secrets = &receiving.secrets;
        // Samples name the tenant's own accounts, as Meta's POSTs do, or the ingress would
        // set them aside as another business's.
        let accounts = &receiving.accounts;
        let instagram = SampleParams {
            account_id: accounts
                .instagram_account
                .clone()
                .unwrap_or_else(|| suite.params.account_id.clone()),
            ..suite.params.clone()
        };
        let whatsapp = SampleParams {
            account_id: accounts
                .whatsapp_business_account
                .clone()
                .unwrap_or_else(|| suite.params.account_id.clone()),
            phone_number_id: accounts.whatsapp_phone_number.clone(),
            ..suite.params.clone()
        };
        let run_id = new_id(IdKind::Request);
        let run_tag = &run_id[run_id.len() - 10..];
        let now = crate::time::now();
        let mut results = Vec::new();
        let (mut passed, mut failed, mut skipped) = (0, 0, 0);
        let samples = cases(&instagram, run_tag, now.timestamp())
            .into_iter()
            .filter(|c| c.channel != Channel::Whatsapp)
            .chain(
                cases(&whatsapp, run_tag, now.timestamp())
                    .into_iter()
                    .filter(|c| c.channel == Channel::Whatsapp),
            )
            .filter(|c| only.is_none_or(|name| c.name == name));
        for case in samples {
            let kind = match case.channel {
                Channel::Whatsapp => IntegrationKind::Whatsapp,
                _ => IntegrationKind::Instagram,
            };
            let Some((_, secret)) = secrets.iter().find(|(k, _)| *k == kind) else {
                skipped += 1;
                results.push(CaseResult {
                    name: case.name.to_string(),
                    expected_type: case.expected_type,
                    status: CaseStatus::Skipped,
                    reason: Some(format!(
                        "no enabled {} integration with an app secret",
                        kind.as_str()
                    )),
                    ..CaseResult::default()
                });
                continue;
            };
            let body = serde_json::to_vec(&case.body).expect("samples serialise");
            let signature = body_hmac::sign(secret, &body);
            let started = Instant::now();
            let outcome = self
                .ingest
                .receive(tenant_id, Some(&signature), &body)
                .await;
            let duration_ms = started.elapsed().as_millis() as u64;
            let result = match outcome {
                Ok(report) => {
                    let stored = report.events.first();
                    let got = stored.map(|e| e.event_type.as_str());
                    let ok = got == Some(case.expected_type) && report.stored == 1;
                    if ok {
                        passed += 1;
                    } else {
                        failed += 1;
                    }
                    CaseResult {
                        name: case.name.to_string(),
                        expected_type: case.expected_type,
                        status: if ok {
                            CaseStatus::Passed
                        } else {
                            CaseStatus::Failed
                        },
                        http_status: Some(200),
                        stored_type: Some(got.map(str::to_string)),
                        meta_event_id: Some(stored.map(|e| e.id.clone())),
                        natural_id: Some(stored.map(|e| e.natural_id.clone())),
                        duration_ms: Some(duration_ms),
                        ..CaseResult::default()
                    }
                }
                Err(e) => {
                    failed += 1;
                    let http_status = match e {
                        IngestError::UnknownTenant => 404,
                        IngestError::BadSignature => 401,
                        IngestError::Malformed(_) => 400,
                        IngestError::Unavailable(_) | IngestError::Suspended => 503,
                    };
                    CaseResult {
                        name: case.name.to_string(),
                        expected_type: case.expected_type,
                        status: CaseStatus::Failed,
                        http_status: Some(http_status),
                        error: Some(e.to_string()),
                        duration_ms: Some(duration_ms),
                        ..CaseResult::default()
                    }
                }
            };
            results.push(result);
        }
        let run = TestRun {
            run_id,
            suite_id: suite.id.clone(),
            case: only.map(str::to_string),
            executed_at: crate::time::rfc3339(now),
            total: results.len(),
            passed,
            failed,
            skipped,
            results,
        };
        suite.last_run = Some(json!({
            "runId": run.run_id, "executedAt": run.executed_at, "case": only,
            "passed": passed, "failed": failed, "skipped": skipped,
        }));
        self.save(tenant_id, &suite).await?;
        Ok(run)
    }
}
