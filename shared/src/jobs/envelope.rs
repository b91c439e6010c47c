use serde::{Deserialize, Serialize};
use std::time::Duration;

use crate::ids::{new_id, IdKind};

pub const JOB_FORMAT_VERSION: u32 = 1;

/// The message body of every job on the delivery queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Job {
    /// Format version; a worker refuses versions it does not know.
    pub v: u32,
    pub id: String,
    pub kind: String,
    pub tenant_id: String,
    /// 1 for the first try, incremented by each scheduled retry.
    pub attempt: u32,
    /// Epoch milliseconds before which the job must not run: retries further away than
    /// SQS's 15-minute delay are re-delayed until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<i64>,
    pub created_at: String,
    pub payload: serde_json::Value,
}

impl Job {
    pub fn new(
        kind: impl Into<String>,
        tenant_id: impl Into<String>,
        payload: serde_json::Value,
    ) -> Self {
        Self {
            v: JOB_FORMAT_VERSION,
            id: new_id(IdKind::Job),
            kind: kind.into(),
            tenant_id: tenant_id.into(),
            attempt: 1,
            not_before: None,
            created_at: crate::time::now_rfc3339(),
            payload,
        }
    }

    /// The same job as its next attempt, due `after` from now.
    pub fn retry(&self, after: Duration, now_millis: i64) -> Self {
        Self {
            attempt: self.attempt + 1,
            not_before: Some(now_millis + after.as_millis() as i64),
            ..self.clone()
        }
    }

    pub fn to_body(&self) -> String {
        serde_json::to_string(self).expect("job serialises")
    }

    pub fn from_body(body: &str) -> Result<Self, String> {
        let job: Job = serde_json::from_str(body).map_err(|e| format!("undecodable job: {e}"))?;
        if job.v != JOB_FORMAT_VERSION {
            return Err(format!("unsupported job format version {}", job.v));
        }
        if job.kind.is_empty() || job.tenant_id.is_empty() {
            return Err("job without kind or tenant".into());
        }
        Ok(job)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_retry() {
        let job = Job::new("test.ok", "ten_1", serde_json::json!({"n": 1}));
        let back = Job::from_body(&job.to_body()).unwrap();
        assert_eq!(back, job);
        let next = job.retry(Duration::from_secs(2), 1_000);
        assert_eq!(next.attempt, 2);
        assert_eq!(next.not_before, Some(3_000));
        assert_eq!(next.id, job.id);
    }

    #[test]
    fn refuses_other_versions_and_garbage() {
        let mut job = Job::new("k", "t", serde_json::Value::Null);
        job.v = 2;
        assert!(Job::from_body(&job.to_body()).is_err());
        assert!(Job::from_body("not json").is_err());
        assert!(Job::from_body(r#"{"v":1}"#).is_err());
    }
}
