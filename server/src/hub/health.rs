//! An instance's health (valid, expiring, failing, invalid or disabled), and the gauges that count instances by it.

use super::credentials::access_token_expiry;
use super::credentials::expires_within;
use super::errors::OrInternal;
use super::service::HubService;
use crate::store::instances::InstanceRecord;
use app::error::HubError;
use app::instances::{HealthState, InstanceHealth};
use std::collections::BTreeMap;

impl HubService {
    /// Sets the `tether_instances{state}` gauges: how many instances, across all organizations, are in each state.
    pub async fn publish_health_metrics(&self) -> Result<(), HubError> {
        let mut counts: BTreeMap<&'static str, f64> = BTreeMap::new();
        for state in HealthState::ALL {
            counts.insert(state.as_str(), 0.0);
        }
        self.store
            .visit_all_instances(|record| *counts.entry(self.health_of(record).state.as_str()).or_default() += 1.0)
            .await
            .or_internal()?;
        for (state, count) in counts {
            metrics::gauge!("tether_instances", "state" => state).set(count);
        }
        Ok(())
    }

    pub(super) fn health_of(&self, record: &InstanceRecord) -> InstanceHealth {
        let state = if record.disabled {
            HealthState::Disabled
        } else if !record.valid {
            HealthState::Invalid
        } else if record.refresh_failures > 0 {
            HealthState::RefreshFailing
        } else if expires_within(record, self.settings.refresh_margin, self.clock().now_millis()) {
            HealthState::Expiring
        } else {
            HealthState::Valid
        };
        let time = |millis: Option<i64>| millis.map(crate::store::from_millis);
        InstanceHealth {
            state,
            access_token_expires_at: access_token_expiry(record),
            last_refreshed_at: time(record.last_refreshed_at),
            last_error: record.last_error.clone(),
            last_error_at: time(record.last_error_at),
            failed_refreshes: record.refresh_failures,
            renewable: access_token_expiry(record).is_none() || record.schedule_columns().1 == 1,
            refresh_token_expires_at: record
                .configuration
                .get(app::instances::credential_keys::REFRESH_TOKEN_EXPIRES_AT)
                .and_then(|text| chrono::DateTime::parse_from_rfc3339(text).ok())
                .map(|at| at.with_timezone(&chrono::Utc)),
        }
    }
}
