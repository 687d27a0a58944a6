//! The Connect capability: connect sessions a team makes for its own users, and the redirect URLs they may name.
//! A session's token is shown once and kept only as its digest; its expiry is read on the hub's clock.

use super::configuration::validate_tags;
use super::errors::OrInternal;
use super::service::HubService;
use crate::security::secrets;
use crate::store::audit::Actor;
use crate::store::connect::NewSessionRecord;
use crate::validate;
use app::catalog::AuthType;
use app::connect::{
    ConnectSession, CreatedConnectSession, DEFAULT_SESSION_MINUTES, EndUser, MAX_SESSION_MINUTES, NewConnectSession,
    RedirectUrls,
};
use app::error::HubError;
use app::hub::{Caller, Connect};
use app::instances::InstanceTarget;
use app::revealed::RevealedSecret;
use secrecy::ExposeSecret;

/// The path of the hosted connect page; a session's URL is this followed by its token.
pub const CONNECT_PAGE_PATH: &str = "/connect";

/// How many redirect URLs an organization may allow.
const MAX_REDIRECT_URLS: usize = 50;

/// The end user, trimmed and checked field by field.
fn checked_end_user(end_user: &EndUser) -> Result<EndUser, HubError> {
    let email = match end_user.email.as_deref().map(str::trim).filter(|email| !email.is_empty()) {
        Some(email) => Some(validate::email("endUser.email", email)?),
        None => None,
    };
    let display_name = match end_user.display_name.as_deref() {
        Some(name) => Some(validate::name("endUser.displayName", name, 200)?).filter(|name| !name.is_empty()),
        None => None,
    };
    Ok(EndUser { id: validate::required_name("endUser.id", &end_user.id, 255)?, email, display_name })
}

/// An allowed redirect URL: absolute https (or http on this machine, for development), with no fragment.
fn checked_redirect_url(field: &str, url: &str) -> Result<String, HubError> {
    let url = url.trim();
    let parsed = url::Url::parse(url).map_err(|error| HubError::invalid(field, format!("is not a URL ({error})")))?;
    let local = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match parsed.scheme() {
        "https" => {}
        "http" if local => {}
        _ => return Err(HubError::invalid(field, "must be an https URL (http only on localhost)")),
    }
    if parsed.fragment().is_some() || url.len() > 2048 {
        return Err(HubError::invalid(field, "must have no #fragment and at most 2,048 characters"));
    }
    Ok(url.to_owned())
}

#[async_trait::async_trait]
impl Connect for HubService {
    async fn create_connect_session(
        &self,
        caller: &Caller,
        origin: &str,
        new_session: NewConnectSession,
    ) -> Result<CreatedConnectSession, HubError> {
        let end_user = checked_end_user(&new_session.end_user)?;
        let tags = validate_tags(&new_session.tags)?;
        let minutes = new_session.expires_in_minutes.unwrap_or(DEFAULT_SESSION_MINUTES);
        if !(1..=MAX_SESSION_MINUTES).contains(&minutes) {
            return Err(HubError::invalid("expiresInMinutes", format!("must be from 1 to {MAX_SESSION_MINUTES}")));
        }
        let mut elements = Vec::with_capacity(new_session.elements.len());
        for (index, key) in new_session.elements.iter().enumerate() {
            let field = format!("elements[{index}]");
            let entry = match self.visible_element(caller, key).await {
                Err(HubError::NotFound(_)) => return Err(HubError::invalid(&field, format!("no element {key}"))),
                found => found?,
            };
            let needs_app = entry.definition.auth == AuthType::OAuth2;
            if needs_app && self.store.oauth_app(caller.organization_id, entry.id).await.or_internal()?.is_none() {
                let problem = format!("{key} needs the organization's OAuth app first (PUT /elements/{key}/oauth/app)");
                return Err(HubError::invalid(&field, problem));
            }
            if !elements.contains(&entry.definition.key) {
                elements.push(entry.definition.key.clone());
            }
        }
        if let Some(id) = new_session.instance_id {
            let (_, entry) = self.target_instance(caller, &InstanceTarget::Id(id)).await?;
            if elements.is_empty() {
                elements.push(entry.definition.key.clone());
            } else if !elements.contains(&entry.definition.key) {
                let problem =
                    format!("instance {id} is of element {}, which elements leaves out", entry.definition.key);
                return Err(HubError::invalid("instanceId", problem));
            }
        }
        let redirect_url = match new_session.redirect_url.as_deref() {
            Some(url) => {
                let allowed = self.store.redirect_urls(caller.organization_id).await.or_internal()?;
                let url = url.trim();
                if !allowed.iter().any(|allowed| allowed == url) {
                    return Err(HubError::invalid("redirectUrl", "is not one of the organization's redirect URLs"));
                }
                Some(url.to_owned())
            }
            None => None,
        };
        let id = format!("cs_{}", uuid::Uuid::new_v4().simple());
        let token = secrets::generate_secret();
        let now = self.clock().now_millis();
        let expires_at = now + i64::from(minutes) * 60_000;
        self.store
            .insert_connect_session(&NewSessionRecord {
                id: &id,
                organization_id: caller.organization_id,
                account_id: caller.account_id,
                user_id: caller.user_id,
                token_digest: &secrets::digest(&token),
                end_user: &end_user,
                elements: &elements,
                tags: &tags,
                instance_id: new_session.instance_id,
                redirect_url: redirect_url.as_deref(),
                created_at: now,
                expires_at,
            })
            .await
            .or_internal()?;
        self.audit(caller.organization_id, Actor::of(caller), "connect_session.created", format!("session:{id}"))
            .await?;
        let base = self.settings.public_url.as_deref().unwrap_or(origin).trim_end_matches('/');
        Ok(CreatedConnectSession {
            url: format!("{base}{CONNECT_PAGE_PATH}/{}", token.expose_secret()),
            id,
            token: RevealedSecret::new(token.expose_secret().to_owned()),
            expires_at: crate::store::from_millis(expires_at),
        })
    }

    async fn connect_session(&self, caller: &Caller, id: &str) -> Result<ConnectSession, HubError> {
        self.store
            .connect_session(caller.organization_id, id, self.clock().now_millis())
            .await
            .or_internal()?
            .ok_or_else(|| HubError::NotFound(format!("No connect session with id {id}")))
    }

    async fn end_connect_session(&self, caller: &Caller, id: &str) -> Result<(), HubError> {
        self.connect_session(caller, id).await?;
        if self.store.end_connect_session(caller.organization_id, id, self.clock().now_millis()).await.or_internal()? {
            self.audit(caller.organization_id, Actor::of(caller), "connect_session.ended", format!("session:{id}"))
                .await?;
        }
        Ok(())
    }

    async fn redirect_urls(&self, caller: &Caller) -> Result<RedirectUrls, HubError> {
        Ok(RedirectUrls { urls: self.store.redirect_urls(caller.organization_id).await.or_internal()? })
    }

    async fn set_redirect_urls(&self, caller: &Caller, urls: RedirectUrls) -> Result<RedirectUrls, HubError> {
        caller.require_admin("change the allowed redirect URLs")?;
        if urls.urls.len() > MAX_REDIRECT_URLS {
            return Err(HubError::invalid("urls", format!("must hold at most {MAX_REDIRECT_URLS} URLs")));
        }
        let mut checked = Vec::with_capacity(urls.urls.len());
        for (index, url) in urls.urls.iter().enumerate() {
            let url = checked_redirect_url(&format!("urls[{index}]"), url)?;
            if !checked.contains(&url) {
                checked.push(url);
            }
        }
        checked.sort();
        self.store.set_redirect_urls(caller.organization_id, &checked).await.or_internal()?;
        self.audit(caller.organization_id, Actor::of(caller), "connect_redirect_urls.changed", checked.join(" "))
            .await?;
        Ok(RedirectUrls { urls: checked })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_urls_must_be_https_or_local_http_without_a_fragment() {
        assert_eq!(checked_redirect_url("u", " https://app.example/done ").unwrap(), "https://app.example/done");
        assert!(checked_redirect_url("u", "http://localhost:3000/done").is_ok());
        for bad in ["http://app.example/done", "ftp://app.example", "/done", "https://app.example/#x"] {
            let error = checked_redirect_url("urls[0]", bad).unwrap_err().to_string();
            assert!(error.starts_with("urls[0]:"), "{bad}: {error}");
        }
    }

    #[test]
    fn an_end_user_needs_an_id_and_a_plausible_email() {
        let user =
            |id: &str, email: Option<&str>| EndUser { id: id.into(), email: email.map(Into::into), display_name: None };
        assert_eq!(
            checked_end_user(&user(" u-1 ", Some(" Ada@Example.com "))).unwrap().email.as_deref(),
            Some("ada@example.com")
        );
        assert!(checked_end_user(&user(" ", None)).unwrap_err().to_string().starts_with("endUser.id:"));
        assert!(checked_end_user(&user("u", Some("nope"))).unwrap_err().to_string().starts_with("endUser.email:"));
    }
}
