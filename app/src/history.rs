//! An instance's story: what happened to it, when and by whom, as `GET /instances/{id}/history` and the instance
//! page's timeline show it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What happened to an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HistoryKind {
    Created,
    Edited,
    /// New tokens from the provider; the detail is the new access token's expiry, when the provider gave one.
    Refreshed,
    /// A refresh failed; the detail is the attempt and the provider's message.
    RefreshFailed,
    Disabled,
    Enabled,
    /// The provider refused the grant: the instance needs re-authentication.
    Invalid,
    /// Working again after it was disabled or invalid.
    Recovered,
    Reauthenticated,
}

impl HistoryKind {
    pub const ALL: [HistoryKind; 9] = [
        HistoryKind::Created,
        HistoryKind::Edited,
        HistoryKind::Refreshed,
        HistoryKind::RefreshFailed,
        HistoryKind::Disabled,
        HistoryKind::Enabled,
        HistoryKind::Invalid,
        HistoryKind::Recovered,
        HistoryKind::Reauthenticated,
    ];

    /// The stored and serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryKind::Created => "created",
            HistoryKind::Edited => "edited",
            HistoryKind::Refreshed => "refreshed",
            HistoryKind::RefreshFailed => "refresh_failed",
            HistoryKind::Disabled => "disabled",
            HistoryKind::Enabled => "enabled",
            HistoryKind::Invalid => "invalid",
            HistoryKind::Recovered => "recovered",
            HistoryKind::Reauthenticated => "reauthenticated",
        }
    }

    pub fn parse(text: &str) -> Option<HistoryKind> {
        HistoryKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// How the timeline names it.
    pub fn label(self) -> &'static str {
        match self {
            HistoryKind::Created => "Created",
            HistoryKind::Edited => "Edited",
            HistoryKind::Refreshed => "Refreshed",
            HistoryKind::RefreshFailed => "Refresh failed",
            HistoryKind::Disabled => "Disabled",
            HistoryKind::Enabled => "Enabled",
            HistoryKind::Invalid => "Needs re-authentication",
            HistoryKind::Recovered => "Recovered",
            HistoryKind::Reauthenticated => "Re-authenticated",
        }
    }

    /// Whether it tells of something going wrong.
    pub fn is_failure(self) -> bool {
        matches!(self, HistoryKind::RefreshFailed | HistoryKind::Disabled | HistoryKind::Invalid)
    }
}

/// One entry of an instance's story.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub kind: HistoryKind,
    /// Who did it: `user:12`, `system` (Tether's own policy or workers), as the audit log names actors; the
    /// console's instance page shows a user's email instead.
    pub actor: String,
    pub detail: String,
}

impl HistoryEntry {
    /// The actor in words.
    pub fn actor_text(&self) -> String {
        match self.actor.strip_prefix("user:") {
            Some(id) => format!("user {id}"),
            None if self.actor == "system" => "Tether".to_owned(),
            None => self.actor.clone(),
        }
    }
}

/// What the instance page shows and reads again while it is open: the instance as its card shows it, its
/// health, whose it is, its story and its latest calls.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceStory {
    pub card: crate::instances::InstanceCard,
    pub health: crate::instances::InstanceHealth,
    pub end_user: Option<crate::types::EndUser>,
    pub trace_logging_enabled: bool,
    /// Newest first.
    pub history: Vec<HistoryEntry>,
    /// Newest first.
    pub calls: Vec<crate::call_logs::CallLog>,
    /// When it was read: the end of the calls chart.
    pub read_at: DateTime<Utc>,
}

/// How many entries and calls the instance page shows.
pub const STORY_ENTRIES: u32 = 100;
pub const STORY_CALLS: u32 = 50;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_back_as_written() {
        for kind in HistoryKind::ALL {
            assert_eq!(HistoryKind::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        assert_eq!(HistoryKind::parse("exploded"), None);
    }
}
