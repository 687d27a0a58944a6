//! The console's server functions: thin calls from the browser into the hub service.

use crate::catalog::{Element, ElementCard};
use crate::error::HubError;
use crate::instances::{
    ConsoleAuthentication, ConsoleNext, InstanceCard, InstanceId, OAuthApp, OAuthCallback, TryRequest, TryResponse,
};
use crate::types::{Account, AccountId, ConsoleIdentity, TypedPassword, User};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// The name of the console's session cookie.
pub const SESSION_COOKIE: &str = "tether_session";

/// The cookie that carries a sign-in from its right password to its second step.
pub const SECOND_STEP_COOKIE: &str = "tether_second_step";

/// How the console's session cookie is set, provided by the server through Leptos context.
#[derive(Clone, Copy, Debug)]
pub struct CookiePolicy {
    /// Adds `Secure`, for a console served over https.
    pub secure: bool,
    pub max_age_seconds: i64,
}

#[cfg(feature = "ssr")]
pub mod session {
    //! Reaches the hub and the signed-in caller from inside a server function.

    use super::{CookiePolicy, SECOND_STEP_COOKIE, SESSION_COOKIE};
    use crate::error::HubError;
    use crate::hub::{Caller, SharedHub};
    use axum::http::{HeaderValue, header::SET_COOKIE, request::Parts};
    use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
    use leptos::prelude::*;
    use secrecy::{ExposeSecret, SecretString};

    pub fn hub() -> Result<SharedHub, HubError> {
        use_context::<SharedHub>().ok_or(HubError::Internal)
    }

    /// The session token from the request's cookie, if any.
    pub fn token() -> Option<SecretString> {
        let parts = use_context::<Parts>()?;
        session_token_from_headers(&parts.headers)
    }

    /// Reads the session cookie from request headers; the server's page guard uses it too.
    pub fn session_token_from_headers(headers: &axum::http::HeaderMap) -> Option<SecretString> {
        CookieJar::from_headers(headers).get(SESSION_COOKIE).map(|cookie| SecretString::from(cookie.value().to_owned()))
    }

    /// The hub and the caller behind the session cookie, or `Unauthorized`.
    pub async fn caller() -> Result<(SharedHub, Caller), HubError> {
        let (hub, caller, _) = caller_and_session().await?;
        Ok((hub, caller))
    }

    /// The hub, the caller, and the session token itself, for flows bound to the session.
    pub async fn caller_and_session() -> Result<(SharedHub, Caller, SecretString), HubError> {
        let hub = hub()?;
        let token = token().ok_or_else(|| HubError::Unauthorized("Sign in first".into()))?;
        let caller = hub.resume_session(&token).await?;
        Ok((hub, caller, token))
    }

    /// Where the browser reached the console: `http://` and the request's `Host`.
    pub fn origin() -> Result<String, HubError> {
        let parts = use_context::<Parts>().ok_or(HubError::Internal)?;
        crate::hub::request_origin(&parts.headers)
    }

    /// Answers a lockout as HTTP 429 with `Retry-After`, as the REST API does, rather than as a failed call.
    pub fn answer_lockout(error: &HubError) {
        if let (HubError::TooManyRequests { retry_after_seconds, .. }, Some(response)) =
            (error, use_context::<leptos_axum::ResponseOptions>())
        {
            response.set_status(axum::http::StatusCode::TOO_MANY_REQUESTS);
            response.insert_header(axum::http::header::RETRY_AFTER, HeaderValue::from(*retry_after_seconds));
        }
    }

    /// The policy of a page: its scripts come from this origin or carry the page's nonce (the hydration script
    /// does), WebAssembly may compile, nothing may frame it, and forms post only here, or to `form_targets`
    /// (origins a form's answer may redirect to).
    pub fn content_security_policy(nonce: &str, form_targets: &[String]) -> String {
        let targets: String = form_targets.iter().map(|origin| format!(" {origin}")).collect();
        format!(
            "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
             img-src 'self' data: https:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
             form-action 'self'{targets}; frame-ancestors 'none'"
        )
    }

    /// Sets the page's `Content-Security-Policy` with the nonce Leptos made for this render. Server function
    /// calls render no page and get none.
    pub fn set_page_policy(form_targets: &[String]) {
        if let (Some(nonce), Some(response)) =
            (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>())
            && let Ok(policy) = HeaderValue::from_str(&content_security_policy(&nonce, form_targets))
        {
            response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, policy);
        }
    }

    fn set_cookie(cookie: Cookie<'_>) -> Result<(), HubError> {
        let response = use_context::<leptos_axum::ResponseOptions>().ok_or(HubError::Internal)?;
        let value = HeaderValue::from_str(&cookie.to_string()).map_err(|_| HubError::Internal)?;
        response.insert_header(SET_COOKIE, value);
        Ok(())
    }

    fn policy() -> CookiePolicy {
        use_context::<CookiePolicy>().unwrap_or(CookiePolicy { secure: false, max_age_seconds: 7 * 24 * 3600 })
    }

    /// Sets (or, with `max_age_seconds` 0, clears) one of the console's HttpOnly, SameSite=Lax cookies.
    fn console_cookie(name: &'static str, value: &str, max_age_seconds: i64) -> Result<(), HubError> {
        let cookie = Cookie::build((name, value.to_owned()))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(policy().secure)
            .max_age(cookie::time::Duration::seconds(max_age_seconds))
            .build();
        set_cookie(cookie)
    }

    pub fn start(token: &SecretString) -> Result<(), HubError> {
        console_cookie(SESSION_COOKIE, token.expose_secret(), policy().max_age_seconds)
    }

    pub fn end() -> Result<(), HubError> {
        console_cookie(SESSION_COOKIE, "", 0)
    }

    /// Keeps the token of a sign-in waiting for its second step; it lives as long as the code does.
    pub fn start_second_step(token: &SecretString) -> Result<(), HubError> {
        console_cookie(SECOND_STEP_COOKIE, token.expose_secret(), 10 * 60)
    }

    pub fn end_second_step() -> Result<(), HubError> {
        console_cookie(SECOND_STEP_COOKIE, "", 0)
    }

    /// The token of the sign-in waiting for its second step, or `Unauthorized`.
    pub fn second_step_token() -> Result<SecretString, HubError> {
        let parts = use_context::<Parts>().ok_or(HubError::Internal)?;
        CookieJar::from_headers(&parts.headers)
            .get(SECOND_STEP_COOKIE)
            .map(|cookie| SecretString::from(cookie.value().to_owned()))
            .ok_or_else(|| HubError::Unauthorized("This sign-in has expired; enter your password again".into()))
    }
}

/// Where a sign-in ends: the console page the user was sent away from (`next`), when it is one of the console's
/// own paths, else the home page. Nothing but a path on this site is followed.
pub fn landing_after_sign_in(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.starts_with("/signin")
                && !path.chars().any(char::is_control) =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// The second step's address, keeping where the sign-in ends.
#[cfg(feature = "ssr")]
fn second_step_path(next: Option<&str>) -> String {
    match next {
        Some(next) => {
            format!("{SECOND_STEP_PATH}?next={}", form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>())
        }
        None => SECOND_STEP_PATH.to_owned(),
    }
}

/// Checks the email and password, sets the session cookie and goes to the page asked for (`next`), or home.
#[server(endpoint = "sign_in")]
pub async fn sign_in(email: String, password: TypedPassword, next: Option<String>) -> Result<(), HubError> {
    use crate::hub::SignInStep;
    let hub = session::hub()?;
    let step = hub.sign_in(email.trim(), &secrecy::SecretString::from(password.0)).await;
    match step.inspect_err(session::answer_lockout)? {
        SignInStep::Done(opened) => {
            session::start(&opened.token)?;
            leptos_axum::redirect(&landing_after_sign_in(next.as_deref()));
        }
        SignInStep::CodeNeeded { token, .. } => {
            session::start_second_step(&token)?;
            let next = next.filter(|next| landing_after_sign_in(Some(next)) != "/");
            leptos_axum::redirect(&second_step_path(next.as_deref()));
        }
    }
    Ok(())
}

/// The page that asks for the second factor.
pub const SECOND_STEP_PATH: &str = "/signin/code";

/// What the sign-in waiting in this browser asks for.
#[server(endpoint = "sign_in_prompt")]
pub async fn sign_in_prompt() -> Result<crate::two_factor::CodePrompt, HubError> {
    let hub = session::hub()?;
    hub.code_prompt(&session::second_step_token()?).await
}

/// Checks the second factor (or a recovery code), opens the session and goes to the page asked for, or home.
#[server(endpoint = "finish_sign_in")]
pub async fn finish_sign_in(code: TypedPassword, next: Option<String>) -> Result<(), HubError> {
    let hub = session::hub()?;
    let opened = hub.finish_sign_in(&session::second_step_token()?, &secrecy::SecretString::from(code.0)).await;
    let opened = opened.inspect_err(session::answer_lockout)?;
    session::end_second_step()?;
    session::start(&opened.token)?;
    leptos_axum::redirect(&landing_after_sign_in(next.as_deref()));
    Ok(())
}

/// Ends the session and goes back to the sign-in page.
#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), HubError> {
    let hub = session::hub()?;
    if let Some(token) = session::token() {
        hub.sign_out(&token).await?;
    }
    session::end()?;
    leptos_axum::redirect("/signin");
    Ok(())
}

#[server(endpoint = "identity")]
pub async fn identity() -> Result<ConsoleIdentity, HubError> {
    let (hub, caller) = session::caller().await?;
    hub.identity(&caller).await
}

#[server(endpoint = "accounts")]
pub async fn list_accounts() -> Result<Vec<Account>, HubError> {
    let (hub, caller) = session::caller().await?;
    hub.list_accounts(&caller).await
}

#[server(endpoint = "account_users")]
pub async fn list_users(account: AccountId) -> Result<Vec<User>, HubError> {
    let (hub, caller) = session::caller().await?;
    hub.list_users(&caller, account).await
}

/// Changes a user's name or phone; an empty phone removes it. Admins for anyone, members for themselves.
#[server(endpoint = "update_user")]
pub async fn update_user(
    account: AccountId,
    user: crate::types::UserId,
    first_name: Option<String>,
    last_name: Option<String>,
    phone: Option<String>,
) -> Result<User, HubError> {
    let (hub, caller) = session::caller().await?;
    let phone = phone.map(|phone| Some(phone.trim().to_owned()).filter(|phone| !phone.is_empty()));
    let patch = crate::types::UserPatch { first_name, last_name, phone, ..Default::default() };
    hub.update_user(&caller, account, user, patch).await
}

/// Makes a user in an account (admins only); their API secret and password are shown once.
#[server(endpoint = "create_user")]
pub async fn create_user(
    account: AccountId,
    email: String,
    first_name: String,
    last_name: String,
    phone: String,
    admin: Option<String>,
) -> Result<crate::types::CreatedUser, HubError> {
    let (hub, caller) = session::caller().await?;
    let new_user = crate::types::NewUser {
        email_address: email,
        first_name,
        last_name,
        phone: Some(phone.trim().to_owned()).filter(|phone| !phone.is_empty()),
        role: if admin.is_some() { crate::types::Role::Admin } else { crate::types::Role::Member },
        password: None,
    };
    hub.create_user(&caller, account, new_user).await
}

#[server(endpoint = "set_user_active")]
pub async fn set_user_active(account: AccountId, user: crate::types::UserId, active: bool) -> Result<User, HubError> {
    let (hub, caller) = session::caller().await?;
    hub.set_user_active(&caller, account, user, active).await
}

#[server(endpoint = "reset_two_factor")]
pub async fn reset_two_factor(account: AccountId, user: crate::types::UserId) -> Result<User, HubError> {
    let (hub, caller) = session::caller().await?;
    hub.reset_two_factor(&caller, account, user).await
}

#[server(endpoint = "two_factor_status")]
pub async fn two_factor_status() -> Result<crate::two_factor::TwoFactorStatus, HubError> {
    let (hub, caller) = session::caller().await?;
    hub.two_factor_status(&caller).await
}

#[server(endpoint = "begin_totp_enrolment")]
pub async fn begin_totp_enrolment() -> Result<crate::two_factor::TotpEnrolment, HubError> {
    let (hub, caller) = session::caller().await?;
    hub.begin_totp_enrolment(&caller).await
}

#[server(endpoint = "begin_phone_enrolment")]
pub async fn begin_phone_enrolment(phone: String) -> Result<(), HubError> {
    let (hub, caller) = session::caller().await?;
    hub.begin_phone_enrolment(&caller, &phone).await
}

/// Confirms an enrolment with its first code; the recovery codes come back once.
#[server(endpoint = "confirm_enrolment")]
pub async fn confirm_enrolment(
    method: crate::two_factor::TwoFactorMethod,
    code: TypedPassword,
) -> Result<crate::two_factor::RecoveryCodes, HubError> {
    let (hub, caller) = session::caller().await?;
    hub.confirm_enrolment(&caller, method, &secrecy::SecretString::from(code.0)).await
}

/// The REST API's operations, for the console's API page.
#[server(endpoint = "api_operations")]
pub async fn api_operations() -> Result<crate::types::ApiOperations, HubError> {
    session::caller().await?;
    use_context::<crate::types::ApiOperations>().ok_or(HubError::Internal)
}

/// Every element the signed-in user can see, as cards for the catalog grid.
#[server(endpoint = "element_cards")]
pub async fn element_cards() -> Result<Vec<ElementCard>, HubError> {
    let (hub, caller) = session::caller().await?;
    hub.element_cards(&caller).await
}

/// One element, by key, alias or id.
#[server(endpoint = "element_details")]
pub async fn element_details(key_or_id: String) -> Result<Element, HubError> {
    let (hub, caller) = session::caller().await?;
    hub.element(&caller, &key_or_id).await
}

/// One page of the console's listing of instances.
#[server(endpoint = "instance_table")]
pub async fn instance_table(
    query: crate::instance_table::InstanceTableQuery,
) -> Result<crate::instance_table::InstanceTablePage, HubError> {
    let (hub, caller) = session::caller().await?;
    hub.instance_table(&caller, query).await
}

/// What the instance page shows: the instance, its health, its story and its latest calls.
#[server(endpoint = "instance_story")]
pub async fn instance_story(id: InstanceId) -> Result<crate::history::InstanceStory, HubError> {
    let (hub, caller) = session::caller().await?;
    hub.instance_story(&caller, id).await
}

/// The redirect URLs the organization's connect sessions may name.
#[server(endpoint = "connect_redirect_urls")]
pub async fn connect_redirect_urls() -> Result<crate::connect::RedirectUrls, HubError> {
    let (hub, caller) = session::caller().await?;
    hub.redirect_urls(&caller).await
}

/// Replaces the allowed redirect URLs from the Account page's box, one URL a line; admins only.
#[server(endpoint = "save_connect_redirect_urls")]
pub async fn save_connect_redirect_urls(urls: String) -> Result<crate::connect::RedirectUrls, HubError> {
    let (hub, caller) = session::caller().await?;
    let urls = urls.lines().map(str::trim).filter(|line| !line.is_empty()).map(str::to_owned).collect();
    hub.set_redirect_urls(&caller, crate::connect::RedirectUrls { urls }).await
}

/// A new user secret for the signed-in user, shown once; the old one works `grace_minutes` more.
#[server(endpoint = "rotate_user_secret")]
pub async fn rotate_user_secret(grace_minutes: u32) -> Result<crate::revealed::RevealedSecret, HubError> {
    let (hub, caller) = session::caller().await?;
    hub.rotate_user_secret(&caller, grace_minutes).await
}

/// A new organization secret, shown once; the old one works `grace_minutes` more. Admins only.
#[server(endpoint = "rotate_organization_secret")]
pub async fn rotate_organization_secret(grace_minutes: u32) -> Result<crate::revealed::RevealedSecret, HubError> {
    let (hub, caller) = session::caller().await?;
    hub.rotate_organization_secret(&caller, grace_minutes).await
}

/// The organization's audit log, newest first, filtered; admins only.
#[server(endpoint = "audit_log")]
pub async fn audit_log(query: crate::types::AuditQuery) -> Result<Vec<crate::types::AuditLogEntry>, HubError> {
    let (hub, caller) = session::caller().await?;
    hub.audit_log(&caller, query).await
}

/// The organization's notices about its instances, newest first.
#[server(endpoint = "notices")]
pub async fn notices() -> Result<Vec<crate::instances::Notice>, HubError> {
    let (hub, caller) = session::caller().await?;
    hub.notices(&caller).await
}

/// Reveals one instance's token, on the user's request.
#[server(endpoint = "instance_token")]
pub async fn instance_token(id: InstanceId) -> Result<String, HubError> {
    let (hub, caller) = session::caller().await?;
    hub.reveal_instance_token(&caller, id).await
}

/// Renames an instance, replaces its tags, and changes the event settings given (`event.*` keys; an absent key
/// keeps its value).
#[server(endpoint = "update_instance", input = Json)]
pub async fn update_instance(
    id: InstanceId,
    name: String,
    tags: Vec<String>,
    events: std::collections::BTreeMap<String, String>,
) -> Result<InstanceCard, HubError> {
    let (hub, caller) = session::caller().await?;
    let configuration = (!events.is_empty())
        .then(|| events.into_iter().map(|(key, value)| (key, serde_json::Value::String(value))).collect());
    let patch =
        crate::instances::InstancePatch { name: Some(name), tags: Some(tags), configuration, ..Default::default() };
    let instance = hub.update_instance(&caller, &crate::instances::InstanceTarget::Id(id), patch).await?;
    Ok(InstanceCard::from(&instance))
}

#[server(endpoint = "set_instance_enabled")]
pub async fn set_instance_enabled(id: InstanceId, enabled: bool) -> Result<InstanceCard, HubError> {
    let (hub, caller) = session::caller().await?;
    let instance = hub.set_instance_enabled(&caller, &crate::instances::InstanceTarget::Id(id), enabled).await?;
    Ok(InstanceCard::from(&instance))
}

#[server(endpoint = "delete_instance")]
pub async fn delete_instance(id: InstanceId) -> Result<(), HubError> {
    let (hub, caller) = session::caller().await?;
    hub.delete_instance(&caller, &crate::instances::InstanceTarget::Id(id)).await
}

/// What the events fields of the Authenticate form (an element's key) or the Edit form (`instance`) start from.
#[server(endpoint = "event_form")]
pub async fn event_form(element: String, instance: Option<InstanceId>) -> Result<crate::events::EventForm, HubError> {
    let (hub, caller) = session::caller().await?;
    let shortest = hub.shortest_poll_interval_minutes();
    Ok(match instance {
        Some(id) => {
            let instance = hub.instance(&caller, &crate::instances::InstanceTarget::Id(id)).await?;
            crate::events::EventForm::new(&instance.element.definition, &instance.configuration, shortest)
        }
        None => {
            let element = hub.element(&caller, &element).await?;
            crate::events::EventForm::new(&element.definition, &Default::default(), shortest)
        }
    })
}

/// The organization's saved OAuth app for an element, if it has one.
/// The organization's saved OAuth apps, secrets masked.
#[server(endpoint = "saved_oauth_apps")]
pub async fn saved_oauth_apps() -> Result<Vec<OAuthApp>, HubError> {
    let (hub, caller) = session::caller().await?;
    hub.oauth_apps(&caller).await
}

#[server(endpoint = "saved_oauth_app")]
pub async fn saved_oauth_app(element: String) -> Result<Option<OAuthApp>, HubError> {
    let (hub, caller) = session::caller().await?;
    match hub.oauth_app(&caller, &element).await {
        Ok(app) => Ok(Some(app)),
        Err(HubError::NotFound(_)) => Ok(None),
        Err(error) => Err(error),
    }
}

/// The console's callback URL, shown on the authenticate form for registering with the provider.
#[server(endpoint = "console_callback_url")]
pub async fn console_callback_url() -> Result<String, HubError> {
    let (hub, _) = session::caller().await?;
    Ok(hub.console_callback_url(&session::origin()?))
}

/// Submits the authenticate form: where the browser goes next.
#[server(endpoint = "begin_authentication", input = Json)]
pub async fn begin_authentication(form: ConsoleAuthentication) -> Result<ConsoleNext, HubError> {
    let (hub, caller, session_token) = session::caller_and_session().await?;
    hub.begin_console_authentication(&caller, &session_token, &session::origin()?, form).await
}

/// Completes the provider's redirect to `/oauth/callback`.
#[server(endpoint = "complete_authorization", input = Json)]
pub async fn complete_authorization(callback: OAuthCallback) -> Result<InstanceId, HubError> {
    let (hub, caller, session_token) = session::caller_and_session().await?;
    hub.complete_console_authorization(&caller, &session_token, callback).await
}

/// "Try it out": one request through an instance to its provider's API.
#[server(endpoint = "try_it_out", input = Json)]
pub async fn try_it_out(id: InstanceId, request: TryRequest) -> Result<TryResponse, HubError> {
    let (hub, caller) = session::caller().await?;
    hub.try_request(&caller, id, request).await
}

/// The organization's event log, newest first, optionally of one status.
#[server(endpoint = "list_events", input = Json)]
pub async fn list_events(status: Option<crate::events::EventStatus>) -> Result<Vec<crate::events::Event>, HubError> {
    let (hub, caller) = session::caller().await?;
    let query = crate::events::EventQuery { status, ..Default::default() };
    hub.list_events(&caller, None, query).await
}

/// One event with the body it was delivered with.
#[server(endpoint = "event_details")]
pub async fn event_details(event_id: String) -> Result<crate::events::Event, HubError> {
    let (hub, caller) = session::caller().await?;
    hub.event(&caller, None, &event_id).await
}

/// Delivers one event again now, and resumes its instance's deliveries.
#[server(endpoint = "redeliver_event")]
pub async fn redeliver_event(event_id: String) -> Result<crate::events::Redelivery, HubError> {
    let (hub, caller) = session::caller().await?;
    hub.redeliver_events(&caller, None, Some(&event_id)).await
}

/// What the hosted connect page shows for a session's token; see `HostedConnect::connect_page`. Rendering it lets
/// the page's forms lead to the team's redirect URL.
#[server(endpoint = "connect_page_view")]
pub async fn connect_page_view(
    token: String,
    element: Option<String>,
    origin: Option<String>,
) -> Result<crate::connect::ConnectPageView, HubError> {
    let hub = session::hub()?;
    let token = secrecy::SecretString::from(token);
    let view = hub.connect_page(&token, element.as_deref(), origin.as_deref()).await?;
    let targets: Vec<String> = view.return_url.iter().filter_map(|url| crate::connect::origin_of(url)).collect();
    session::set_page_policy(&targets);
    Ok(view)
}

/// The organization's lifecycle webhook endpoints.
#[server(endpoint = "list_webhooks")]
pub async fn list_webhooks() -> Result<Vec<crate::webhooks::WebhookEndpoint>, HubError> {
    let (hub, caller) = session::caller().await?;
    hub.webhooks(&caller).await
}

/// Registers an endpoint from the Account page's form; `events` is a list separated by commas or spaces, empty for
/// every event. Admins only.
#[server(endpoint = "add_webhook")]
pub async fn add_webhook(
    url: String,
    signature_key: TypedPassword,
    events: String,
) -> Result<crate::webhooks::WebhookEndpoint, HubError> {
    let (hub, caller) = session::caller().await?;
    let events = events.split([',', ' ', '\n']).map(str::trim).filter(|event| !event.is_empty()).map(str::to_owned);
    let new = crate::webhooks::NewWebhookEndpoint {
        url,
        signature_key: secrecy::SecretString::from(signature_key.0),
        events: events.collect(),
    };
    hub.create_webhook(&caller, new).await
}

/// Removes an endpoint and its deliveries; admins only.
#[server(endpoint = "remove_webhook")]
pub async fn remove_webhook(id: String) -> Result<(), HubError> {
    let (hub, caller) = session::caller().await?;
    hub.delete_webhook(&caller, &id).await
}

/// Sends an endpoint a test delivery at once.
#[server(endpoint = "send_test_webhook")]
pub async fn send_test_webhook(id: String) -> Result<crate::webhooks::WebhookDelivery, HubError> {
    let (hub, caller) = session::caller().await?;
    hub.test_webhook(&caller, &id).await
}

/// An endpoint's newest deliveries, with their answers.
#[server(endpoint = "list_webhook_deliveries")]
pub async fn list_webhook_deliveries(id: String) -> Result<Vec<crate::webhooks::WebhookDelivery>, HubError> {
    let (hub, caller) = session::caller().await?;
    hub.webhook_deliveries(&caller, &id).await
}

/// Sends one delivery again at once.
#[server(endpoint = "redeliver_webhook")]
pub async fn redeliver_webhook(id: String, delivery: String) -> Result<(), HubError> {
    let (hub, caller) = session::caller().await?;
    hub.redeliver_webhook(&caller, &id, &delivery).await
}

#[cfg(test)]
mod tests {
    use super::landing_after_sign_in;

    #[test]
    fn a_sign_in_ends_only_on_this_sites_own_pages() {
        assert_eq!(landing_after_sign_in(Some("/events?status=FAILED")), "/events?status=FAILED");
        for elsewhere in ["https://evil.example/", "//evil.example/x", "/\\evil.example", "events", "/signin", "/a\nb"]
        {
            assert_eq!(landing_after_sign_in(Some(elsewhere)), "/", "{elsewhere:?}");
        }
        assert_eq!(landing_after_sign_in(None), "/");
    }
}
