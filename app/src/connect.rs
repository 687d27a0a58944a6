//! Connect sessions: a short-lived link a team makes for one of its own users (an end user, with no console
//! account) to connect an element on Tether's hosted page, and the redirect URLs an organization allows such a
//! link to send the end user back to.

use crate::instances::InstanceId;
pub use crate::types::EndUser;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How long a session lasts when the request does not say.
pub const DEFAULT_SESSION_MINUTES: u32 = 30;
/// The longest a session may last: a week, for links sent by email.
pub const MAX_SESSION_MINUTES: u32 = 7 * 24 * 60;

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

/// One element an end user may connect, as the hosted page lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectChoice {
    pub key: String,
    pub name: String,
    /// Connected through the provider's consent page rather than a form.
    pub oauth: bool,
}

/// The form of an element connected by its parameters (basic, API-key and custom elements).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectForm {
    pub key: String,
    pub name: String,
    pub parameters: Vec<crate::catalog::ParameterDefinition>,
}

/// The instance a completed session connected.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectedInstance {
    pub instance_id: crate::instances::InstanceId,
    pub element: String,
    pub element_name: String,
}

/// What the hosted connect page shows for a session's token. It holds nothing of other end users and no secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectPageView {
    /// The team's name (its organization's).
    pub team: String,
    pub state: ConnectSessionState,
    pub end_user_id: String,
    /// The elements the session allows, by name.
    pub choices: Vec<ConnectChoice>,
    /// The element whose form was asked for, when it has one.
    pub form: Option<ConnectForm>,
    /// For a reconnect: the name of the instance being reconnected.
    pub reconnecting: Option<String>,
    /// Why the last attempt failed, until the next attempt; or why the session can no longer be used.
    pub failure: Option<ConnectFailure>,
    pub connected: Option<ConnectedInstance>,
    /// The origin of the team's page that opened this one as a popup, when it is one the team allows.
    pub popup_origin: Option<String>,
    /// The team's redirect URL with the outcome in its query (`status`, and `instanceId` once connected).
    pub return_url: Option<String>,
}

/// Why connecting failed: a `reason` the team's page can act on and a message in plain words for the end user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectFailure {
    /// `declined` (the end user said no at the provider), `refused` (the provider or the element refused what
    /// was given), `expired` (the link is used, expired or withdrawn) or `unavailable` (it cannot be connected).
    pub reason: String,
    pub message: String,
}

impl ConnectFailure {
    pub fn new(reason: &str, message: impl Into<String>) -> ConnectFailure {
        ConnectFailure { reason: reason.to_owned(), message: message.into() }
    }
}

/// Where a connect step sends the browser next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectStep {
    /// Elsewhere: the provider's consent page, the team's redirect URL, or back to the session's page.
    Redirect(String),
    /// The element's own form, on the page asked for.
    ShowForm,
}

/// The hosted page's path for a session, keeping the popup's origin when there is one.
pub fn connect_page_path(token: &str, element: Option<&str>, popup_origin: Option<&str>) -> String {
    let segment = |text: &str| form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
    let mut path = format!("/connect/{}", segment(token));
    if let Some(element) = element {
        path = format!("{path}/{}", segment(element));
    }
    if let Some(origin) = popup_origin {
        path = format!("{path}?origin={}", segment(origin));
    }
    path
}

/// The origin of a URL as a browser writes it (`https://app.example:8443`), or none for a URL without one.
pub fn origin_of(url: &str) -> Option<String> {
    let origin = url::Url::parse(url).ok()?.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}
