//! The domain types both doors share: tenants (organizations, accounts, users) as the REST API and the console see them.

use crate::revealed::RevealedSecret;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

numeric_id!(
    /// Identifies an organization, the top-level tenant.
    OrganizationId
);
numeric_id!(
    /// Identifies an account inside an organization.
    AccountId
);
numeric_id!(
    /// Identifies a user inside an account.
    UserId
);

/// What a user may do inside their organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Sees and manages every account and user of the organization.
    Admin,
    /// Sees only their own account.
    #[default]
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
}

/// An organization as its own users see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: OrganizationId,
    pub name: String,
    pub created_date: DateTime<Utc>,
}

/// An account: a group of users inside an organization.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub external_id: Option<String>,
    /// The account an organization starts with.
    pub default_account: bool,
    pub active: bool,
    pub created_date: DateTime<Utc>,
}

/// A user, without any of their secrets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: UserId,
    pub account_id: AccountId,
    pub email_address: String,
    pub first_name: String,
    pub last_name: String,
    /// The phone used for two-factor sign-in, in E.164 form.
    pub phone: Option<String>,
    /// Whether a code sent to `phone` was entered since it was last set. A changed phone is unconfirmed until
    /// then, and a user who signs in by text message confirms it at their next sign-in.
    pub phone_confirmed: bool,
    /// The user's second sign-in factor, if any.
    pub two_factor: Option<crate::two_factor::TwoFactorMethod>,
    pub role: Role,
    pub active: bool,
    pub created_date: DateTime<Utc>,
    pub last_login_date: Option<DateTime<Utc>>,
}

/// The body of `POST /accounts/{id}/users`.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewUser {
    pub email_address: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub role: Role,
    /// The console password; one is generated and returned once when absent.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>))]
    pub password: Option<secrecy::SecretString>,
}

/// The body of `PATCH /accounts/{id}/users/{userId}`: only the fields present change.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserPatch {
    pub email_address: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// `null` removes the phone; an absent field leaves it alone.
    #[serde(default, deserialize_with = "present_or_null")]
    pub phone: Option<Option<String>>,
}

/// Tells an explicit `null` apart from an absent field.
fn present_or_null<'de, D>(deserializer: D) -> Result<Option<Option<String>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Option::<String>::deserialize(deserializer).map(Some)
}

/// The answer to creating a user: the user, their API secret and, when Tether chose it, their password.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreatedUser {
    #[serde(flatten)]
    pub user: User,
    /// The user secret for `Authorization: User <secret>, …`; only its hash is stored.
    pub secret: RevealedSecret,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<RevealedSecret>,
}

/// A password typed into the console, on its way to the server.
///
/// It must serialize to cross the wire, but it never prints.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct TypedPassword(pub String);

impl fmt::Debug for TypedPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TypedPassword(********)")
    }
}

/// Who is signed in to the console, for the header and the account page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConsoleIdentity {
    pub user: User,
    pub organization: Organization,
}

/// One record of the audit log: who did what to what, and when. Records name things by id; they never hold
/// secret values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditLogEntry {
    pub at: DateTime<Utc>,
    /// `user:<id>`, `email:<address>` for a refused sign-in, `cli` or `system`.
    pub actor: String,
    /// A dotted verb such as `instance.created` or `session.refused`.
    pub action: String,
    /// What was acted on, such as `instance:12`.
    pub target: String,
    pub request_id: Option<String>,
}

/// The filters and page of an audit log listing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query, rename_all = "camelCase"))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditQuery {
    /// Exactly this actor.
    #[serde(default)]
    pub actor: Option<String>,
    /// Exactly this action, or every action under it when it ends with a dot (`instance.`).
    #[serde(default)]
    pub action: Option<String>,
    /// Records at or after this time.
    #[serde(default)]
    pub from: Option<DateTime<Utc>>,
    /// Records before this time.
    #[serde(default)]
    pub to: Option<DateTime<Utc>>,
    /// The page, from 1.
    #[serde(default)]
    pub page: Option<u32>,
    /// Items per page: 1 to 1000, 200 by default.
    #[serde(default)]
    pub page_size: Option<u32>,
}

/// One operation of the REST API, as the console's API page lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiOperation {
    pub method: String,
    /// Under `/elements/api-v2`.
    pub path: String,
    pub summary: String,
    pub tag: String,
}

/// The REST API's operations, read from its OpenAPI document; the server provides them to the console.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ApiOperations(pub Vec<ApiOperation>);

/// A team's own user (an end user, with no console account), who connects an account through a connect session;
/// an instance made that way carries it.
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

/// Dates as Cloud Elements wrote them: RFC 3339 in UTC to the second (`2017-08-07T18:46:38Z`); any RFC 3339
/// date is read.
pub mod whole_seconds {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Secs, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
        DateTime::<Utc>::deserialize(deserializer)
    }
}
