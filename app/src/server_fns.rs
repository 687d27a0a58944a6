//! The console's server functions: thin calls from the browser into the hub service.

use crate::catalog::{Element, ElementCard};
use crate::error::HubError;
use crate::types::{Account, AccountId, ConsoleIdentity, TypedPassword, User};
use leptos::prelude::*;

/// The name of the console's session cookie.
pub const SESSION_COOKIE: &str = "tether_session";

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

    use super::{CookiePolicy, SESSION_COOKIE};
    use crate::error::HubError;
    use crate::service::{Caller, SharedHub};
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
        let hub = hub()?;
        let token = token().ok_or_else(|| HubError::Unauthorized("Sign in first".into()))?;
        let caller = hub.resume_session(&token).await?;
        Ok((hub, caller))
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

    pub fn start(token: &SecretString) -> Result<(), HubError> {
        let policy = policy();
        let cookie = Cookie::build((SESSION_COOKIE, token.expose_secret().to_owned()))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(policy.secure)
            .max_age(cookie::time::Duration::seconds(policy.max_age_seconds))
            .build();
        set_cookie(cookie)
    }

    pub fn end() -> Result<(), HubError> {
        let policy = policy();
        let cookie = Cookie::build((SESSION_COOKIE, ""))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(policy.secure)
            .max_age(cookie::time::Duration::ZERO)
            .build();
        set_cookie(cookie)
    }
}

/// Checks the email and password, sets the session cookie and goes to the console's home.
#[server(endpoint = "sign_in")]
pub async fn sign_in(email: String, password: TypedPassword) -> Result<(), HubError> {
    let hub = session::hub()?;
    let opened = hub.sign_in(email.trim(), &secrecy::SecretString::from(password.0)).await?;
    session::start(&opened.token)?;
    leptos_axum::redirect("/");
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
