//! A hub that answers only what a test sets, and remembers what it was asked: each door is tested alone on it,
//! with no storage, vault or provider behind it.

use app::catalog::{Element, ElementCard, ElementDefinition, ElementPage, ElementQuery};
use app::connect::{ConnectSession, CreatedConnectSession, NewConnectSession, RedirectUrls};
use app::error::HubError;
use app::events::{Event, EventQuery, Redelivery};
use app::hub::{
    Accounts, ApiCredentials, AuditLog, Caller, Connect, ConsoleConnect, ConsoleSession, ElementCatalog, Events,
    Identity, Instances, Notices, OAuthFlows, ProviderCall, Proxy, SignInStep, TwoFactor,
};
use app::instances::{
    ConsoleAuthentication, ConsoleNext, Instance, InstanceConfigurationItem, InstanceId, InstancePatch, InstanceQuery,
    InstanceTarget, NewInstance, NewOAuthApp, Notice, OAuthApp, OAuthCallback, TryRequest, TryResponse,
};
use app::oauth::{AuthorizationRequest, AuthorizationUrl};
use app::revealed::RevealedSecret;
use app::two_factor::{CodePrompt, RecoveryCodes, TotpEnrolment, TwoFactorMethod, TwoFactorStatus};
use app::types::{
    Account, AccountId, AuditLogEntry, AuditQuery, ConsoleIdentity, CreatedUser, NewUser, OrganizationId, Role, User,
    UserId, UserPatch,
};
use app::webhooks::{NewWebhookEndpoint, WebhookDelivery, WebhookEndpoint, WebhookEndpointPatch};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Mutex;

/// The secrets the fake takes in `Authorization`.
pub const FAKE_USER_SECRET: &str = "fake-user-secret";
pub const FAKE_ORGANIZATION_SECRET: &str = "fake-organization-secret";
/// The console session token the fake resumes.
pub const FAKE_SESSION: &str = "fake-session";

/// The caller the fake's secrets stand for.
pub fn fake_caller() -> Caller {
    Caller { organization_id: OrganizationId(7), account_id: AccountId(8), user_id: UserId(9), role: Role::Admin }
}

#[derive(Default)]
pub struct FakeHub {
    /// Every operation asked of it, by name, in order.
    pub calls: Mutex<Vec<&'static str>>,
    /// The instance listings asked for, as the door parsed them.
    pub queries: Mutex<Vec<InstanceQuery>>,
    /// What the next instance listing answers instead of an empty list.
    pub answer: Mutex<Option<HubError>>,
}

impl FakeHub {
    fn record(&self, operation: &'static str) {
        self.calls.lock().unwrap().push(operation);
    }

    /// What every operation a test did not set answers.
    fn refuse<T>(&self, operation: &'static str) -> Result<T, HubError> {
        self.record(operation);
        Err(HubError::NotFound(format!("the fake hub does not do {operation}")))
    }

    pub fn calls(&self) -> Vec<&'static str> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl Identity for FakeHub {
    async fn sign_in(&self, _email: &str, _password: &SecretString) -> Result<SignInStep, HubError> {
        self.refuse("sign_in")
    }

    async fn code_prompt(&self, _token: &SecretString) -> Result<CodePrompt, HubError> {
        self.refuse("code_prompt")
    }

    async fn finish_sign_in(&self, _token: &SecretString, _code: &SecretString) -> Result<ConsoleSession, HubError> {
        self.refuse("finish_sign_in")
    }

    async fn resume_session(&self, token: &SecretString) -> Result<Caller, HubError> {
        self.record("resume_session");
        if token.expose_secret() == FAKE_SESSION {
            Ok(fake_caller())
        } else {
            Err(HubError::Unauthorized("not the fake's session".into()))
        }
    }

    async fn sign_out(&self, _token: &SecretString) -> Result<(), HubError> {
        self.refuse("sign_out")
    }

    async fn identity(&self, _caller: &Caller) -> Result<ConsoleIdentity, HubError> {
        self.refuse("identity")
    }

    async fn authenticate(&self, credentials: &ApiCredentials) -> Result<Caller, HubError> {
        self.record("authenticate");
        if credentials.user.expose_secret() == FAKE_USER_SECRET
            && credentials.organization.expose_secret() == FAKE_ORGANIZATION_SECRET
        {
            Ok(fake_caller())
        } else {
            Err(HubError::Unauthorized("not the fake's secrets".into()))
        }
    }
}

#[async_trait::async_trait]
impl Accounts for FakeHub {
    async fn list_accounts(&self, _caller: &Caller) -> Result<Vec<Account>, HubError> {
        self.refuse("list_accounts")
    }

    async fn list_users(&self, _caller: &Caller, _account: AccountId) -> Result<Vec<User>, HubError> {
        self.refuse("list_users")
    }

    async fn create_user(
        &self,
        _caller: &Caller,
        _account: AccountId,
        _new_user: NewUser,
    ) -> Result<CreatedUser, HubError> {
        self.refuse("create_user")
    }

    async fn update_user(
        &self,
        _caller: &Caller,
        _account: AccountId,
        _user: UserId,
        _patch: UserPatch,
    ) -> Result<User, HubError> {
        self.refuse("update_user")
    }

    async fn set_user_active(
        &self,
        _caller: &Caller,
        _account: AccountId,
        _user: UserId,
        _active: bool,
    ) -> Result<User, HubError> {
        self.refuse("set_user_active")
    }

    async fn reset_two_factor(&self, _caller: &Caller, _account: AccountId, _user: UserId) -> Result<User, HubError> {
        self.refuse("reset_two_factor")
    }

    async fn rotate_user_secret(&self, _caller: &Caller, _grace_minutes: u32) -> Result<RevealedSecret, HubError> {
        self.refuse("rotate_user_secret")
    }

    async fn rotate_organization_secret(
        &self,
        _caller: &Caller,
        _grace_minutes: u32,
    ) -> Result<RevealedSecret, HubError> {
        self.refuse("rotate_organization_secret")
    }
}

#[async_trait::async_trait]
impl TwoFactor for FakeHub {
    async fn two_factor_status(&self, _caller: &Caller) -> Result<TwoFactorStatus, HubError> {
        self.refuse("two_factor_status")
    }

    async fn begin_totp_enrolment(&self, _caller: &Caller) -> Result<TotpEnrolment, HubError> {
        self.refuse("begin_totp_enrolment")
    }

    async fn begin_phone_enrolment(&self, _caller: &Caller, _phone: &str) -> Result<(), HubError> {
        self.refuse("begin_phone_enrolment")
    }

    async fn confirm_enrolment(
        &self,
        _caller: &Caller,
        _method: TwoFactorMethod,
        _code: &SecretString,
    ) -> Result<RecoveryCodes, HubError> {
        self.refuse("confirm_enrolment")
    }
}

#[async_trait::async_trait]
impl ElementCatalog for FakeHub {
    async fn list_elements(&self, _caller: &Caller, _query: ElementQuery) -> Result<ElementPage, HubError> {
        self.refuse("list_elements")
    }

    async fn element(&self, _caller: &Caller, _key_or_id: &str) -> Result<Element, HubError> {
        self.refuse("element")
    }

    async fn element_cards(&self, _caller: &Caller) -> Result<Vec<ElementCard>, HubError> {
        self.refuse("element_cards")
    }

    async fn create_element(&self, _caller: &Caller, _definition: ElementDefinition) -> Result<Element, HubError> {
        self.refuse("create_element")
    }

    async fn replace_element(
        &self,
        _caller: &Caller,
        _key_or_id: &str,
        _definition: ElementDefinition,
    ) -> Result<Element, HubError> {
        self.refuse("replace_element")
    }

    async fn delete_element(&self, _caller: &Caller, _key_or_id: &str) -> Result<(), HubError> {
        self.refuse("delete_element")
    }
}

#[async_trait::async_trait]
impl OAuthFlows for FakeHub {
    async fn authorization_url(
        &self,
        _caller: &Caller,
        _key_or_id: &str,
        _request: AuthorizationRequest,
    ) -> Result<AuthorizationUrl, HubError> {
        self.refuse("authorization_url")
    }

    async fn request_token(
        &self,
        _caller: &Caller,
        _key_or_id: &str,
        _request: AuthorizationRequest,
    ) -> Result<app::oauth::RequestToken, HubError> {
        self.refuse("request_token")
    }

    async fn oauth_app(&self, _caller: &Caller, _key_or_id: &str) -> Result<OAuthApp, HubError> {
        self.refuse("oauth_app")
    }

    async fn oauth_apps(&self, _caller: &Caller) -> Result<Vec<OAuthApp>, HubError> {
        self.refuse("oauth_apps")
    }

    async fn save_oauth_app(
        &self,
        _caller: &Caller,
        _key_or_id: &str,
        _app: NewOAuthApp,
    ) -> Result<OAuthApp, HubError> {
        self.refuse("save_oauth_app")
    }

    async fn delete_oauth_app(&self, _caller: &Caller, _key_or_id: &str) -> Result<(), HubError> {
        self.refuse("delete_oauth_app")
    }
}

#[async_trait::async_trait]
impl Instances for FakeHub {
    async fn create_instance(
        &self,
        _caller: &Caller,
        _element_in_path: Option<&str>,
        _new_instance: NewInstance,
    ) -> Result<Instance, HubError> {
        self.refuse("create_instance")
    }

    async fn instance(&self, _caller: &Caller, _target: &InstanceTarget) -> Result<Instance, HubError> {
        self.refuse("instance")
    }

    async fn reveal_instance_token(&self, _caller: &Caller, _id: InstanceId) -> Result<String, HubError> {
        self.refuse("reveal_instance_token")
    }

    async fn reveal_provider_tokens(
        &self,
        _caller: &Caller,
        _target: &InstanceTarget,
    ) -> Result<std::collections::BTreeMap<String, String>, HubError> {
        self.refuse("reveal_provider_tokens")
    }

    async fn update_instance(
        &self,
        _caller: &Caller,
        _target: &InstanceTarget,
        _patch: InstancePatch,
    ) -> Result<Instance, HubError> {
        self.refuse("update_instance")
    }

    async fn delete_instance(&self, _caller: &Caller, _target: &InstanceTarget) -> Result<(), HubError> {
        self.refuse("delete_instance")
    }

    async fn set_instance_enabled(
        &self,
        _caller: &Caller,
        _target: &InstanceTarget,
        _enabled: bool,
    ) -> Result<Instance, HubError> {
        self.refuse("set_instance_enabled")
    }

    async fn instance_configuration(
        &self,
        _caller: &Caller,
        _target: &InstanceTarget,
    ) -> Result<Vec<InstanceConfigurationItem>, HubError> {
        self.refuse("instance_configuration")
    }

    async fn update_instance_configuration(
        &self,
        _caller: &Caller,
        _target: &InstanceTarget,
        _item: &str,
        _value: serde_json::Value,
    ) -> Result<InstanceConfigurationItem, HubError> {
        self.refuse("update_instance_configuration")
    }

    async fn list_instances(&self, _caller: &Caller, query: InstanceQuery) -> Result<Vec<Instance>, HubError> {
        self.record("list_instances");
        self.queries.lock().unwrap().push(query);
        match self.answer.lock().unwrap().take() {
            Some(error) => Err(error),
            None => Ok(Vec::new()),
        }
    }
}

#[async_trait::async_trait]
impl ConsoleConnect for FakeHub {
    async fn begin_console_authentication(
        &self,
        _caller: &Caller,
        _session: &SecretString,
        _console_origin: &str,
        _form: ConsoleAuthentication,
    ) -> Result<ConsoleNext, HubError> {
        self.refuse("begin_console_authentication")
    }

    async fn complete_console_authorization(
        &self,
        _caller: &Caller,
        _session: &SecretString,
        _callback: OAuthCallback,
    ) -> Result<InstanceId, HubError> {
        self.refuse("complete_console_authorization")
    }

    fn console_callback_url(&self, console_origin: &str) -> String {
        format!("{console_origin}/oauth/callback")
    }
}

#[async_trait::async_trait]
impl Proxy for FakeHub {
    async fn provider_call(
        &self,
        _caller: &Caller,
        _token: &SecretString,
        _hub: &str,
    ) -> Result<ProviderCall, HubError> {
        self.refuse("provider_call")
    }

    async fn provider_refused(
        &self,
        _caller: &Caller,
        _token: &SecretString,
        _call: &ProviderCall,
    ) -> Result<ProviderCall, HubError> {
        self.refuse("provider_refused")
    }

    async fn try_request(
        &self,
        _caller: &Caller,
        _id: InstanceId,
        _request: TryRequest,
    ) -> Result<TryResponse, HubError> {
        self.refuse("try_request")
    }
}

#[async_trait::async_trait]
impl app::hub::InstanceTable for FakeHub {
    async fn instance_table(
        &self,
        _caller: &Caller,
        _query: app::instance_table::InstanceTableQuery,
    ) -> Result<app::instance_table::InstanceTablePage, HubError> {
        self.record("instance_table");
        match self.answer.lock().unwrap().take() {
            Some(error) => Err(error),
            None => Ok(app::instance_table::InstanceTablePage { cards: Vec::new(), total: 0, elements: Vec::new() }),
        }
    }
}

#[async_trait::async_trait]
impl app::hub::InstanceHistory for FakeHub {
    async fn instance_history(
        &self,
        _caller: &Caller,
        _instance: &InstanceTarget,
    ) -> Result<Vec<app::history::HistoryEntry>, HubError> {
        self.refuse("instance_history")
    }

    async fn instance_story(&self, _caller: &Caller, _id: InstanceId) -> Result<app::history::InstanceStory, HubError> {
        self.refuse("instance_story")
    }
}

#[async_trait::async_trait]
impl app::hub::CallLogs for FakeHub {
    fn record_call(&self, _call: app::call_logs::RecordedCall) {
        self.record("record_call");
    }

    async fn call_logs(
        &self,
        _caller: &Caller,
        _instance: &InstanceTarget,
        _query: app::call_logs::CallLogQuery,
    ) -> Result<Vec<app::call_logs::CallLog>, HubError> {
        self.refuse("call_logs")
    }
}

#[async_trait::async_trait]
impl Events for FakeHub {
    async fn list_events(
        &self,
        _caller: &Caller,
        _instance: Option<&InstanceTarget>,
        _query: EventQuery,
    ) -> Result<Vec<Event>, HubError> {
        self.refuse("list_events")
    }

    async fn event(
        &self,
        _caller: &Caller,
        _instance: Option<&InstanceTarget>,
        _event_id: &str,
    ) -> Result<Event, HubError> {
        self.refuse("event")
    }

    async fn redeliver_events(
        &self,
        _caller: &Caller,
        _instance: Option<&InstanceTarget>,
        _event_id: Option<&str>,
    ) -> Result<Redelivery, HubError> {
        self.refuse("redeliver_events")
    }

    async fn receive_provider_webhook(
        &self,
        _element_key: &str,
        _instance: InstanceId,
        _headers: &axum::http::HeaderMap,
        _body: &[u8],
    ) -> Result<usize, HubError> {
        self.refuse("receive_provider_webhook")
    }

    fn shortest_poll_interval_minutes(&self) -> f64 {
        1.0
    }
}

#[async_trait::async_trait]
impl Notices for FakeHub {
    async fn notices(&self, _caller: &Caller) -> Result<Vec<Notice>, HubError> {
        self.refuse("notices")
    }
}

#[async_trait::async_trait]
impl AuditLog for FakeHub {
    async fn audit_log(&self, _caller: &Caller, _query: AuditQuery) -> Result<Vec<AuditLogEntry>, HubError> {
        self.refuse("audit_log")
    }
}

#[async_trait::async_trait]
impl Connect for FakeHub {
    async fn create_connect_session(
        &self,
        _caller: &Caller,
        _origin: &str,
        _new_session: NewConnectSession,
    ) -> Result<CreatedConnectSession, HubError> {
        self.refuse("create_connect_session")
    }

    async fn connect_session(&self, _caller: &Caller, _id: &str) -> Result<ConnectSession, HubError> {
        self.refuse("connect_session")
    }

    async fn end_connect_session(&self, _caller: &Caller, _id: &str) -> Result<(), HubError> {
        self.refuse("end_connect_session")
    }

    async fn redirect_urls(&self, _caller: &Caller) -> Result<RedirectUrls, HubError> {
        self.refuse("redirect_urls")
    }

    async fn set_redirect_urls(&self, _caller: &Caller, _urls: RedirectUrls) -> Result<RedirectUrls, HubError> {
        self.refuse("set_redirect_urls")
    }
}

#[async_trait::async_trait]
impl app::hub::HostedConnect for FakeHub {
    async fn connect_page(
        &self,
        _token: &SecretString,
        _element: Option<&str>,
        _popup_origin: Option<&str>,
    ) -> Result<app::connect::ConnectPageView, HubError> {
        self.refuse("connect_page")
    }

    async fn start_connect(
        &self,
        _token: &SecretString,
        _element: &str,
        _origin: &str,
        _popup_origin: Option<&str>,
    ) -> Result<app::connect::ConnectStep, HubError> {
        self.refuse("start_connect")
    }

    async fn submit_connect_form(
        &self,
        _token: &SecretString,
        _element: &str,
        _values: std::collections::BTreeMap<String, String>,
        _popup_origin: Option<&str>,
    ) -> Result<String, HubError> {
        self.refuse("submit_connect_form")
    }

    async fn complete_connect_authorization(&self, _callback: OAuthCallback) -> Result<String, HubError> {
        self.refuse("complete_connect_authorization")
    }
}

#[async_trait::async_trait]
impl app::hub::LifecycleWebhooks for FakeHub {
    async fn create_webhook(&self, _caller: &Caller, _new: NewWebhookEndpoint) -> Result<WebhookEndpoint, HubError> {
        self.refuse("create_webhook")
    }

    async fn webhooks(&self, _caller: &Caller) -> Result<Vec<WebhookEndpoint>, HubError> {
        self.refuse("webhooks")
    }

    async fn webhook(&self, _caller: &Caller, _id: &str) -> Result<WebhookEndpoint, HubError> {
        self.refuse("webhook")
    }

    async fn update_webhook(
        &self,
        _caller: &Caller,
        _id: &str,
        _patch: WebhookEndpointPatch,
    ) -> Result<WebhookEndpoint, HubError> {
        self.refuse("update_webhook")
    }

    async fn delete_webhook(&self, _caller: &Caller, _id: &str) -> Result<(), HubError> {
        self.refuse("delete_webhook")
    }

    async fn test_webhook(&self, _caller: &Caller, _id: &str) -> Result<WebhookDelivery, HubError> {
        self.refuse("test_webhook")
    }

    async fn webhook_deliveries(&self, _caller: &Caller, _id: &str) -> Result<Vec<WebhookDelivery>, HubError> {
        self.refuse("webhook_deliveries")
    }

    async fn redeliver_webhook(&self, _caller: &Caller, _id: &str, _delivery: &str) -> Result<(), HubError> {
        self.refuse("redeliver_webhook")
    }
}

impl app::hub::Hub for FakeHub {}
