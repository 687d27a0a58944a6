//! The hub's capabilities: the operations both the REST API and the console call, one trait per capability.
//!
//! The server crate implements each trait once, in a file of its own under `server/src/hub/`, and hands both doors
//! an `Arc<dyn Hub>` (the console through Leptos context), so a page and an API route that do the same thing run the
//! same code. Every method checks that the caller may do what it asks. Nothing here depends on Leptos or axum.

use crate::catalog::{Element, ElementCard, ElementDefinition, ElementPage, ElementQuery};
use crate::connect::{
    ConnectPageView, ConnectSession, ConnectStep, CreatedConnectSession, NewConnectSession, RedirectUrls,
};
use crate::error::HubError;
use crate::events::{Event, EventQuery, Redelivery};
use crate::instances::{
    ConsoleAuthentication, ConsoleNext, Instance, InstanceConfigurationItem, InstanceId, InstancePatch, InstanceQuery,
    InstanceTarget, NewInstance, NewOAuthApp, Notice, OAuthApp, OAuthCallback, TryRequest, TryResponse,
};
use crate::oauth::{AuthorizationRequest, AuthorizationUrl};
use crate::revealed::RevealedSecret;
use crate::two_factor::{CodePrompt, RecoveryCodes, TotpEnrolment, TwoFactorMethod, TwoFactorStatus};
use crate::types::{
    Account, AccountId, AuditLogEntry, AuditQuery, ConsoleIdentity, CreatedUser, NewUser, OrganizationId, Role, User,
    UserId, UserPatch,
};
use secrecy::SecretString;
use std::sync::Arc;

/// The secrets a REST call presents in `Authorization: User <secret>, Organization <secret>[, Element <token>]`.
#[derive(Debug)]
pub struct ApiCredentials {
    pub user: SecretString,
    pub organization: SecretString,
    /// The instance token, used by the routes that act through an element instance.
    pub element: Option<SecretString>,
}

/// An authenticated caller: who is asking, on whose behalf, with what rights.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub organization_id: OrganizationId,
    pub account_id: AccountId,
    pub user_id: UserId,
    pub role: Role,
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Refuses a caller who is not an organization admin, saying what only an admin may do (`action`, as "create
    /// users").
    pub fn require_admin(&self, action: &str) -> Result<(), HubError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(HubError::Forbidden(format!("Only an organization admin may {action}")))
        }
    }
}

/// A console session just opened: the caller and the token for the session cookie.
#[derive(Debug)]
pub struct ConsoleSession {
    pub caller: Caller,
    pub token: SecretString,
}

/// Where a right password leaves a sign-in: done, or waiting for the second factor.
#[derive(Debug)]
pub enum SignInStep {
    Done(ConsoleSession),
    /// The user has two-factor sign-in: `token` names this half-done sign-in (the console keeps it in a short-lived
    /// cookie) until a code finishes it.
    CodeNeeded {
        token: SecretString,
        prompt: CodePrompt,
    },
}

/// What a proxied call through an instance needs: where the provider's API is, and the credentials to add.
/// The credentials never print.
#[derive(Clone)]
pub struct ProviderCall {
    pub instance_id: InstanceId,
    /// The element's API base URL, filled in for the instance, without a trailing slash.
    pub base_url: String,
    /// A path segment holding credentials, put between the base URL and each call's path (Telegram's
    /// `bot<token>`); never logged.
    pub path_segment: Option<SecretString>,
    pub headers: Vec<(String, SecretString)>,
    pub query: Vec<QueryCredential>,
    /// Credentials that go in the request body.
    pub body: Vec<BodyCredential>,
    /// The digest of the access token used, for an OAuth 2.0 instance: a refresh after the provider refused it
    /// happens only if nobody replaced it meanwhile.
    pub access_token_digest: Option<String>,
    /// How much of a call through the instance is recorded in its call logs.
    pub recording: crate::call_logs::CallRecording,
    /// Whether members whose value is `null` are taken out of JSON answers (`filter.response.nulls`).
    pub filter_nulls: bool,
    /// A signature each request gets from the instance's credentials, over its method, URL and body.
    pub signing: Option<RequestSigning>,
    /// The instance's own limit on calls through it (`proxy.rate.*`), when it has one.
    pub rate: Option<CallRate>,
}

/// An instance's limit on calls through it: calls a second, the burst allowed at once, and how long a call beyond
/// it may wait for its turn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CallRate {
    pub per_second: f64,
    pub burst: u32,
    pub wait_millis: u64,
}

impl CallRate {
    /// The limit an instance's configuration sets, if any (values checked when they were stored).
    pub fn of(configuration: &std::collections::BTreeMap<String, String>) -> Option<CallRate> {
        use crate::instances::{PROXY_RATE_BURST, PROXY_RATE_LIMIT, PROXY_RATE_WAIT};
        let per_second: f64 =
            configuration.get(PROXY_RATE_LIMIT)?.trim().parse().ok().filter(|rate: &f64| *rate > 0.0)?;
        let burst = configuration
            .get(PROXY_RATE_BURST)
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or_else(|| per_second.ceil().max(1.0) as u32);
        let wait_millis = configuration.get(PROXY_RATE_WAIT).and_then(|text| text.trim().parse().ok()).unwrap_or(0);
        Some(CallRate { per_second, burst: burst.max(1), wait_millis })
    }
}

/// How a request is signed for a provider that wants each one signed. The secrets never print.
#[derive(Clone)]
pub enum RequestSigning {
    /// OAuth 1.0a (RFC 5849) with HMAC-SHA1: the consumer's key and secret, and the instance's access token and
    /// token secret.
    OAuth1 { consumer_key: String, consumer_secret: SecretString, token: String, token_secret: SecretString },
    /// Duo's request signature (its canonical form version 2, HMAC-SHA1): the integration key and secret key.
    Duo { integration_key: String, secret_key: SecretString },
    /// AWS Signature Version 4 for one service in one region.
    AwsSigV4 {
        access_key_id: String,
        secret_access_key: SecretString,
        session_token: Option<SecretString>,
        region: String,
        service: String,
    },
}

/// A credential carried in the request body: a form field or a member of the JSON object, on calls whose method
/// the placement admits.
#[derive(Clone)]
pub enum BodyCredential {
    Form(String, SecretString, CallMethods),
    Json(String, SecretString, CallMethods),
}

impl BodyCredential {
    pub fn goes_with(&self, method: &str) -> bool {
        match self {
            BodyCredential::Form(_, _, methods) | BodyCredential::Json(_, _, methods) => methods.admit(method),
        }
    }
}

/// A credential carried as a query parameter, on calls whose method the placement admits.
#[derive(Clone)]
pub struct QueryCredential {
    pub name: String,
    pub value: SecretString,
    pub methods: CallMethods,
}

/// The methods of the calls a credential goes with (upper-case); every method when empty.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallMethods(pub Vec<String>);

impl CallMethods {
    pub fn admit(&self, method: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|allowed| allowed.eq_ignore_ascii_case(method))
    }
}

impl std::fmt::Debug for ProviderCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = |pairs: &[(String, SecretString)]| pairs.iter().map(|(name, _)| name.clone()).collect::<Vec<_>>();
        f.debug_struct("ProviderCall")
            .field("instance_id", &self.instance_id)
            .field("base_url", &self.base_url)
            .field("headers", &names(&self.headers))
            .field("query", &self.query.iter().map(|credential| credential.name.clone()).collect::<Vec<_>>())
            .finish()
    }
}

/// Who is calling: API secrets, console passwords and their second step, and console sessions.
#[async_trait::async_trait]
pub trait Identity: Send + Sync {
    /// Checks a REST call's user and organization secrets.
    async fn authenticate(&self, credentials: &ApiCredentials) -> Result<Caller, HubError>;

    /// Checks a console password, then opens a session or asks for the second factor.
    async fn sign_in(&self, email: &str, password: &SecretString) -> Result<SignInStep, HubError>;

    /// What the second step of the half-done sign-in `token` asks for.
    async fn code_prompt(&self, token: &SecretString) -> Result<CodePrompt, HubError>;

    /// Checks the code (or a recovery code) for the half-done sign-in `token`, and opens a session.
    async fn finish_sign_in(&self, token: &SecretString, code: &SecretString) -> Result<ConsoleSession, HubError>;

    /// Finds the caller behind a session cookie.
    async fn resume_session(&self, token: &SecretString) -> Result<Caller, HubError>;

    /// Ends a console session; ending an unknown one is not an error.
    async fn sign_out(&self, token: &SecretString) -> Result<(), HubError>;

    /// The caller's own user and organization.
    async fn identity(&self, caller: &Caller) -> Result<ConsoleIdentity, HubError>;
}

/// The organization's accounts and users, and their API secrets.
#[async_trait::async_trait]
pub trait Accounts: Send + Sync {
    /// The accounts the caller may see: all of the organization's for an admin, their own otherwise.
    async fn list_accounts(&self, caller: &Caller) -> Result<Vec<Account>, HubError>;

    async fn list_users(&self, caller: &Caller, account: AccountId) -> Result<Vec<User>, HubError>;

    /// Creates a user (admins only) and reveals their secrets once.
    async fn create_user(
        &self,
        caller: &Caller,
        account: AccountId,
        new_user: NewUser,
    ) -> Result<CreatedUser, HubError>;

    /// Changes a user's name, email or phone: admins for anyone, members for themselves.
    async fn update_user(
        &self,
        caller: &Caller,
        account: AccountId,
        user: UserId,
        patch: UserPatch,
    ) -> Result<User, HubError>;

    /// Turns a user off or on again (admins only, not themselves); a disabled user's sessions end.
    async fn set_user_active(
        &self,
        caller: &Caller,
        account: AccountId,
        user: UserId,
        active: bool,
    ) -> Result<User, HubError>;

    /// Removes a user's second factor and recovery codes (admins only), as when they lost their device.
    async fn reset_two_factor(&self, caller: &Caller, account: AccountId, user: UserId) -> Result<User, HubError>;

    /// Gives the caller a new user secret, shown once; the old one keeps working for `grace_minutes` (at most
    /// [`crate::revealed::MAX_GRACE_MINUTES`]), so clients can move over, then stops.
    async fn rotate_user_secret(&self, caller: &Caller, grace_minutes: u32) -> Result<RevealedSecret, HubError>;

    /// The same for the organization's secret. Admins only.
    async fn rotate_organization_secret(&self, caller: &Caller, grace_minutes: u32)
    -> Result<RevealedSecret, HubError>;
}

/// The caller's own second factor: an authenticator app or a phone, and recovery codes.
#[async_trait::async_trait]
pub trait TwoFactor: Send + Sync {
    /// The caller's own two-factor settings.
    async fn two_factor_status(&self, caller: &Caller) -> Result<TwoFactorStatus, HubError>;

    /// Starts enrolling an authenticator app: a new secret, which the first right code confirms.
    async fn begin_totp_enrolment(&self, caller: &Caller) -> Result<TotpEnrolment, HubError>;

    /// Starts enrolling a phone: sends a code to `phone`, which confirming makes the caller's phone.
    async fn begin_phone_enrolment(&self, caller: &Caller, phone: &str) -> Result<(), HubError>;

    /// Confirms the pending enrolment with a code; two-factor sign-in is then on, and new recovery codes are
    /// shown once.
    async fn confirm_enrolment(
        &self,
        caller: &Caller,
        method: TwoFactorMethod,
        code: &SecretString,
    ) -> Result<RecoveryCodes, HubError>;
}

/// The catalog of elements: the built-in ones and each organization's own.
#[async_trait::async_trait]
pub trait ElementCatalog: Send + Sync {
    /// Elements the caller can see (built-in and their organization's own), filtered, ranked and paged.
    async fn list_elements(&self, caller: &Caller, query: ElementQuery) -> Result<ElementPage, HubError>;

    /// One element by key, alias or id.
    async fn element(&self, caller: &Caller, key_or_id: &str) -> Result<Element, HubError>;

    /// Every element the caller can see, as cards for the console's grid.
    async fn element_cards(&self, caller: &Caller) -> Result<Vec<ElementCard>, HubError>;

    /// Registers a custom element that only the caller's organization sees (admins only).
    async fn create_element(&self, caller: &Caller, definition: ElementDefinition) -> Result<Element, HubError>;

    /// Replaces a custom element's definition (admins only); built-in elements cannot change.
    async fn replace_element(
        &self,
        caller: &Caller,
        key_or_id: &str,
        definition: ElementDefinition,
    ) -> Result<Element, HubError>;

    /// Removes a custom element (admins only).
    async fn delete_element(&self, caller: &Caller, key_or_id: &str) -> Result<(), HubError>;
}

/// OAuth flows that start at the REST API, and the organization's saved OAuth apps.
#[async_trait::async_trait]
pub trait OAuthFlows: Send + Sync {
    /// Builds the provider's authorization URL for an OAuth 2.0 element and remembers the flow for 10 minutes.
    async fn authorization_url(
        &self,
        caller: &Caller,
        key_or_id: &str,
        request: AuthorizationRequest,
    ) -> Result<AuthorizationUrl, HubError>;

    /// Gets an OAuth 1.0a element's request token from the provider for the caller's consumer key and callback,
    /// and remembers the flow for 10 minutes.
    async fn request_token(
        &self,
        caller: &Caller,
        key_or_id: &str,
        request: AuthorizationRequest,
    ) -> Result<crate::oauth::RequestToken, HubError>;

    /// The organization's saved OAuth app for an element, secret masked.
    async fn oauth_app(&self, caller: &Caller, key_or_id: &str) -> Result<OAuthApp, HubError>;

    /// Every saved OAuth app of the organization, secrets masked.
    async fn oauth_apps(&self, caller: &Caller) -> Result<Vec<OAuthApp>, HubError>;

    /// Saves the organization's OAuth app for an element (admins only).
    async fn save_oauth_app(&self, caller: &Caller, key_or_id: &str, app: NewOAuthApp) -> Result<OAuthApp, HubError>;

    async fn delete_oauth_app(&self, caller: &Caller, key_or_id: &str) -> Result<(), HubError>;
}

/// Element instances: one user's authenticated connection to one provider.
#[async_trait::async_trait]
pub trait Instances: Send + Sync {
    /// Authenticates a new instance: exchanges the OAuth code, or takes the element's parameters.
    /// `element_in_path` is the element of `POST /elements/{keyOrId}/instances`.
    async fn create_instance(
        &self,
        caller: &Caller,
        element_in_path: Option<&str>,
        new_instance: NewInstance,
    ) -> Result<Instance, HubError>;

    /// The organization's instances, filtered by tags and element, one page at a time.
    async fn list_instances(&self, caller: &Caller, query: InstanceQuery) -> Result<Vec<Instance>, HubError>;

    /// One of the organization's instances.
    async fn instance(&self, caller: &Caller, target: &InstanceTarget) -> Result<Instance, HubError>;

    /// An instance's token, shown on the user's request in the console; the audit log records the view.
    async fn reveal_instance_token(&self, caller: &Caller, id: InstanceId) -> Result<String, HubError>;

    /// The provider's access and refresh tokens an instance holds, in the clear, by their configuration keys
    /// (`oauth.user.token`, `oauth.user.refresh_token`): for organization admins only, each read audited.
    async fn reveal_provider_tokens(
        &self,
        caller: &Caller,
        target: &InstanceTarget,
    ) -> Result<std::collections::BTreeMap<String, String>, HubError>;

    /// Changes an instance's name, tags or configuration; with `providerData.code` it re-authenticates,
    /// keeping its id and token.
    async fn update_instance(
        &self,
        caller: &Caller,
        target: &InstanceTarget,
        patch: InstancePatch,
    ) -> Result<Instance, HubError>;

    /// Deletes an instance, first revoking its grant at the provider when the element can; its token dies with it.
    async fn delete_instance(&self, caller: &Caller, target: &InstanceTarget) -> Result<(), HubError>;

    /// Enables or disables an instance; a disabled instance's token is refused.
    async fn set_instance_enabled(
        &self,
        caller: &Caller,
        target: &InstanceTarget,
        enabled: bool,
    ) -> Result<Instance, HubError>;

    /// An instance's configuration values, secrets masked.
    async fn instance_configuration(
        &self,
        caller: &Caller,
        target: &InstanceTarget,
    ) -> Result<Vec<InstanceConfigurationItem>, HubError>;

    /// Changes one configuration value, named by item id or key.
    async fn update_instance_configuration(
        &self,
        caller: &Caller,
        target: &InstanceTarget,
        item: &str,
        value: serde_json::Value,
    ) -> Result<InstanceConfigurationItem, HubError>;
}

/// The console's own way to authenticate an instance: its form, the provider's consent, and its callback.
#[async_trait::async_trait]
pub trait ConsoleConnect: Send + Sync {
    /// The console's authenticate form: where the browser goes next. `session` is the console session token,
    /// which the OAuth flow is bound to; `console_origin` is where the console is reached, for its callback URL.
    async fn begin_console_authentication(
        &self,
        caller: &Caller,
        session: &SecretString,
        console_origin: &str,
        form: ConsoleAuthentication,
    ) -> Result<ConsoleNext, HubError>;

    /// The console's `/oauth/callback`: completes the flow this session started, once.
    async fn complete_console_authorization(
        &self,
        caller: &Caller,
        session: &SecretString,
        callback: OAuthCallback,
    ) -> Result<InstanceId, HubError>;

    /// The console's OAuth redirect URI: `public_url` when configured, else `console_origin`, then `/oauth/callback`.
    fn console_callback_url(&self, console_origin: &str) -> String;
}

/// Calls to a provider's API through an instance, with its credentials added.
#[async_trait::async_trait]
pub trait Proxy: Send + Sync {
    /// The provider API and credentials for a call through the instance named by `token`, whose element is in
    /// `hub`. OAuth tokens about to expire are refreshed first.
    async fn provider_call(&self, caller: &Caller, token: &SecretString, hub: &str) -> Result<ProviderCall, HubError>;

    /// The provider refused `call`'s credentials: refreshes once, unless someone already replaced them, and
    /// answers the call to retry. A grant the provider no longer honours is `Unauthorized` with
    /// `INVALID_ACCESS_TOKEN`.
    async fn provider_refused(
        &self,
        caller: &Caller,
        token: &SecretString,
        call: &ProviderCall,
    ) -> Result<ProviderCall, HubError>;

    /// Sends the console's "Try it out" request through one of the organization's instances, as the proxy would.
    async fn try_request(&self, caller: &Caller, id: InstanceId, request: TryRequest) -> Result<TryResponse, HubError>;
}

/// The console's listing of instances.
#[async_trait::async_trait]
pub trait InstanceTable: Send + Sync {
    /// One page of the organization's instances as `query` searches, filters and orders them, with the count of
    /// every match.
    async fn instance_table(
        &self,
        caller: &Caller,
        query: crate::instance_table::InstanceTableQuery,
    ) -> Result<crate::instance_table::InstanceTablePage, HubError>;
}

/// Instances' stories: what happened to each instance, when and by whom.
#[async_trait::async_trait]
pub trait InstanceHistory: Send + Sync {
    /// The instance's story, newest first.
    async fn instance_history(
        &self,
        caller: &Caller,
        instance: &InstanceTarget,
    ) -> Result<Vec<crate::history::HistoryEntry>, HubError>;

    /// What the console's instance page shows: the instance, its health, its newest entries and calls. Reading
    /// it again and again (the page does, while open) writes no audit record.
    async fn instance_story(&self, caller: &Caller, id: InstanceId) -> Result<crate::history::InstanceStory, HubError>;
}

/// Call logs: the record of the calls made through each instance.
#[async_trait::async_trait]
pub trait CallLogs: Send + Sync {
    /// Hands over a finished proxied call to be recorded. It is written shortly after, off the call's path; a
    /// record that finds the queue full is dropped and counted in the log.
    fn record_call(&self, call: crate::call_logs::RecordedCall);

    /// An instance's calls, newest first. What this node has handed over is written before it is read.
    async fn call_logs(
        &self,
        caller: &Caller,
        instance: &InstanceTarget,
        query: crate::call_logs::CallLogQuery,
    ) -> Result<Vec<crate::call_logs::CallLog>, HubError>;
}

/// Events: providers' webhooks in, the event log, and redelivery.
#[async_trait::async_trait]
pub trait Events: Send + Sync {
    /// The event log, newest first: one instance's when `instance` names one, else the organization's.
    async fn list_events(
        &self,
        caller: &Caller,
        instance: Option<&InstanceTarget>,
        query: EventQuery,
    ) -> Result<Vec<Event>, HubError>;

    /// One event with its delivered body.
    async fn event(
        &self,
        caller: &Caller,
        instance: Option<&InstanceTarget>,
        event_id: &str,
    ) -> Result<Event, HubError>;

    /// Releases one event, or every failed and queued event of the instance, for delivery now, and resumes the
    /// instance's deliveries.
    async fn redeliver_events(
        &self,
        caller: &Caller,
        instance: Option<&InstanceTarget>,
        event_id: Option<&str>,
    ) -> Result<Redelivery, HubError>;

    /// Takes a provider's webhook for an instance of `element_key`; answers how many events it queued.
    async fn receive_provider_webhook(
        &self,
        element_key: &str,
        instance: InstanceId,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<usize, HubError>;

    /// The shortest poll interval this deployment allows, in minutes (`poll_min_interval_seconds`).
    fn shortest_poll_interval_minutes(&self) -> f64;
}

/// The notices Tether sent about the organization's instances.
#[async_trait::async_trait]
pub trait Notices: Send + Sync {
    /// The organization's newest notices about its instances, newest first: mailed, or kept in the outbox.
    async fn notices(&self, caller: &Caller) -> Result<Vec<Notice>, HubError>;
}

/// The organization's audit log.
#[async_trait::async_trait]
pub trait AuditLog: Send + Sync {
    /// The organization's audit log, newest first, filtered; admins only.
    async fn audit_log(&self, caller: &Caller, query: AuditQuery) -> Result<Vec<AuditLogEntry>, HubError>;
}

/// Connect sessions: links a team hands its own users to connect an element on the hosted page.
#[async_trait::async_trait]
pub trait Connect: Send + Sync {
    /// A new session for one end user; `origin` is where this Tether is reached, for the session's URL when no
    /// public URL is configured.
    async fn create_connect_session(
        &self,
        caller: &Caller,
        origin: &str,
        new_session: NewConnectSession,
    ) -> Result<CreatedConnectSession, HubError>;

    /// One of the organization's sessions, with where it stands.
    async fn connect_session(&self, caller: &Caller, id: &str) -> Result<ConnectSession, HubError>;

    /// Ends an open session: its link no longer works. Ending one already used, expired or ended changes nothing.
    async fn end_connect_session(&self, caller: &Caller, id: &str) -> Result<(), HubError>;

    /// The redirect URLs the organization allows sessions to name.
    async fn redirect_urls(&self, caller: &Caller) -> Result<RedirectUrls, HubError>;

    /// Replaces the organization's allowed redirect URLs; admins only.
    async fn set_redirect_urls(&self, caller: &Caller, urls: RedirectUrls) -> Result<RedirectUrls, HubError>;
}

/// The hosted connect page's side of a connect session, for an end user who holds only its token and has no
/// console account. Each step answers where the browser goes next; a failure the end user can act on is kept
/// on the session and shown on its page, so only an unknown token or a spent flow is an error.
#[async_trait::async_trait]
pub trait HostedConnect: Send + Sync {
    /// What the page shows: the session's state, its elements, and `element`'s form when asked for one.
    /// `popup_origin` is kept only when it is the origin of one of the team's redirect URLs.
    async fn connect_page(
        &self,
        token: &SecretString,
        element: Option<&str>,
        popup_origin: Option<&str>,
    ) -> Result<ConnectPageView, HubError>;

    /// Starts connecting `element`: an OAuth 2.0 element goes to the provider with the team's saved app, PKCE
    /// and a state bound to the session; any other shows its form. `origin` is where Tether was reached, for
    /// the callback URL.
    async fn start_connect(
        &self,
        token: &SecretString,
        element: &str,
        origin: &str,
        popup_origin: Option<&str>,
    ) -> Result<ConnectStep, HubError>;

    /// Connects a basic, API-key or custom element from its form's values; answers where the browser goes.
    async fn submit_connect_form(
        &self,
        token: &SecretString,
        element: &str,
        values: std::collections::BTreeMap<String, String>,
        popup_origin: Option<&str>,
    ) -> Result<String, HubError>;

    /// The provider's redirect for a connect session's flow; answers where the browser goes.
    async fn complete_connect_authorization(&self, callback: OAuthCallback) -> Result<String, HubError>;
}

/// An organization's endpoints for lifecycle webhooks, and their deliveries.
#[async_trait::async_trait]
pub trait LifecycleWebhooks: Send + Sync {
    /// Registers an endpoint; admins only. Its URL must be one the outbound policy lets Tether reach.
    async fn create_webhook(
        &self,
        caller: &Caller,
        new: crate::webhooks::NewWebhookEndpoint,
    ) -> Result<crate::webhooks::WebhookEndpoint, HubError>;

    async fn webhooks(&self, caller: &Caller) -> Result<Vec<crate::webhooks::WebhookEndpoint>, HubError>;

    async fn webhook(&self, caller: &Caller, id: &str) -> Result<crate::webhooks::WebhookEndpoint, HubError>;

    /// Changes an endpoint's URL, signature key or events; admins only.
    async fn update_webhook(
        &self,
        caller: &Caller,
        id: &str,
        patch: crate::webhooks::WebhookEndpointPatch,
    ) -> Result<crate::webhooks::WebhookEndpoint, HubError>;

    /// Removes an endpoint and its deliveries; admins only.
    async fn delete_webhook(&self, caller: &Caller, id: &str) -> Result<(), HubError>;

    /// Queues a `webhook.test` delivery to the endpoint, due at once; answers it.
    async fn test_webhook(&self, caller: &Caller, id: &str) -> Result<crate::webhooks::WebhookDelivery, HubError>;

    /// The endpoint's newest deliveries, newest first, with their answers.
    async fn webhook_deliveries(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Vec<crate::webhooks::WebhookDelivery>, HubError>;

    /// Sends one delivery again, at once.
    async fn redeliver_webhook(&self, caller: &Caller, id: &str, delivery: &str) -> Result<(), HubError>;
}

/// Every capability: what both doors hold. An implementation says so with an empty `impl Hub for …`.
pub trait Hub:
    Identity
    + Accounts
    + TwoFactor
    + ElementCatalog
    + OAuthFlows
    + Instances
    + ConsoleConnect
    + Proxy
    + CallLogs
    + InstanceTable
    + InstanceHistory
    + Events
    + Notices
    + AuditLog
    + Connect
    + HostedConnect
    + LifecycleWebhooks
    + 'static
{
}

/// Where a request reached this Tether, `http://` and its `Host`: the base of the URLs the hub hands out (the
/// console's OAuth callback, a connect session's page) when no public URL is configured. Both doors read it here.
pub fn request_origin(headers: &http::HeaderMap) -> Result<String, HubError> {
    let host = headers.get(http::header::HOST).and_then(|host| host.to_str().ok());
    host.map(|host| format!("http://{host}")).ok_or_else(|| HubError::BadRequest("the request names no Host".into()))
}

/// How the service travels in Leptos context and axum state.
pub type SharedHub = Arc<dyn Hub>;
