//! Connect sessions: a short-lived link a team makes for one of its own users (an end user, with no console
//! account) to connect an element on Tether's hosted page, and the redirect URLs an organization allows such a
//! link to send the end user back to.

use crate::instances::InstanceId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How long a session lasts when the request does not say.
pub const DEFAULT_SESSION_MINUTES: u32 = 30;
/// The longest a session may last: a week, for links sent by email.
pub const MAX_SESSION_MINUTES: u32 = 7 * 24 * 60;

/// The team's own user, who connects an account through the session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndUser {
    /// The team's id for the user; required.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// `POST /connect/sessions`: who connects, what they may connect, and where they go after.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewConnectSession {
    pub end_user: EndUser,
    /// Element keys the end user may choose from; empty for every element the organization can connect (one
    /// with its saved OAuth app, or one that needs no app).
    #[serde(default)]
    pub elements: Vec<String>,
    /// Tags the new instance gets.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Makes the session a reconnect of this instance: it keeps its id and token.
    #[serde(default)]
    pub instance_id: Option<InstanceId>,
    /// Where the end user's browser goes when done; one of the organization's allowed redirect URLs.
    #[serde(default)]
    pub redirect_url: Option<String>,
    /// 1 to 10,080 (a week); 30 when absent.
    #[serde(default)]
    pub expires_in_minutes: Option<u32>,
}

/// A new session: its id, and the token and URL to hand the end user. The token is shown only here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreatedConnectSession {
    pub id: String,
    pub token: crate::revealed::RevealedSecret,
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// Where a session stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ConnectSessionState {
    /// Usable by its end user.
    Open,
    /// Used: the end user connected `instanceId`.
    Completed,
    /// Past its expiry unused.
    Expired,
    /// Ended by the team before it was used.
    Ended,
}

/// A session as `GET /connect/sessions/{id}` shows it; never its token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConnectSession {
    pub id: String,
    pub state: ConnectSessionState,
    pub end_user: EndUser,
    pub elements: Vec<String>,
    pub tags: Vec<String>,
    /// For a completed session, the instance connected; for a reconnect, the instance it reconnects.
    pub instance_id: Option<InstanceId>,
    pub redirect_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The redirect URLs an organization allows connect sessions to name, matched exactly.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedirectUrls {
    pub urls: Vec<String>,
}
