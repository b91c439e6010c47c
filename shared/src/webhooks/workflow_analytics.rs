//! The n8n dashboard's figures: calls, success rate and its colour band, over a range, for
//! every workflow webhook of a tenant or for one hour by hour.

use serde::Serialize;

use super::logs::HourCounters;

/// The dashboard's colour bands: good from 95 %, warning from 80 %.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Band {
    Good,
    Warning,
    Critical,
}

impl Band {
    fn of(rate: Option<f64>) -> Option<Self> {
        match rate? {
            r if r >= 95.0 => Some(Band::Good),
            r if r >= 80.0 => Some(Band::Warning),
            _ => Some(Band::Critical),
        }
    }
}

/// Calls added up over some hours.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CallTotals {
    pub total_calls: u64,
    pub successful_calls: u64,
    pub failed_calls: u64,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub average_response_time_ms: Option<u64>,
    /// percent, to one decimal; null without calls
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub success_rate: Option<f64>,
    #[cfg_attr(feature = "openapi", schema(inline, required = true))]
    pub band: Option<Band>,
}

impl CallTotals {
    pub fn of(hours: &[HourCounters]) -> Self {
        let total: u64 = hours.iter().map(|h| h.total).sum();
        let ok: u64 = hours.iter().map(|h| h.successful).sum();
        let ms: u64 = hours.iter().map(|h| h.response_ms).sum();
        let rate = (total > 0).then(|| (ok as f64 * 1000.0 / total as f64).round() / 10.0);
        Self {
            total_calls: total,
            successful_calls: ok,
            failed_calls: total - ok,
            average_response_time_ms: (total > 0).then(|| ms / total),
            success_rate: rate,
            band: Band::of(rate),
        }
    }
}

/// Every workflow webhook of a tenant (or one) over a range: the totals, then each.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WorkflowSummary {
    #[serde(flatten)]
    pub totals: CallTotals,
    /// 1h, 24h, 7d or 30d
    pub range: String,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub webhooks: Vec<WorkflowRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WorkflowRow {
    #[serde(flatten)]
    pub totals: CallTotals,
    pub webhook_id: String,
    pub workflow_name: String,
    pub is_active: bool,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub last_called_at: Option<String>,
}

/// One workflow webhook over a range, hour by hour.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WorkflowAnalytics {
    #[serde(flatten)]
    pub totals: CallTotals,
    pub range: String,
    pub webhook_id: String,
    pub workflow_name: String,
    /// the hours with calls, oldest first
    pub hourly: Vec<HourCounters>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hour(total: u64, successful: u64, response_ms: u64) -> HourCounters {
        HourCounters {
            hour: "2026-12-07T10".into(),
            total,
            successful,
            failed: total - successful,
            response_ms,
        }
    }

    #[test]
    fn totals_rate_and_band() {
        let none = CallTotals::of(&[]);
        assert_eq!((none.success_rate, none.band), (None, None));
        let t = CallTotals::of(&[hour(10, 9, 1000), hour(10, 10, 1000)]);
        assert_eq!(t.total_calls, 20);
        assert_eq!(t.failed_calls, 1);
        assert_eq!(t.success_rate, Some(95.0));
        assert_eq!(t.band, Some(Band::Good));
        assert_eq!(t.average_response_time_ms, Some(100));
        assert_eq!(CallTotals::of(&[hour(10, 8, 0)]).band, Some(Band::Warning));
        assert_eq!(CallTotals::of(&[hour(10, 7, 0)]).band, Some(Band::Critical));
    }
}
