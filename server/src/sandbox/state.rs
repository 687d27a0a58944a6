//! The running sandbox: its settings, its state file, and the signed webhooks its CRM sends to subscribers.

use super::data::{Change, SandboxData};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The path the sandbox is served under.
pub const BASE_PATH: &str = "/sandbox";

/// The header that carries the signature of the CRM's webhooks: `sha256=` and the hex HMAC-SHA256 of the body,
/// keyed with the client secret.
pub const SIGNATURE_HEADER: &str = "x-sandbox-signature";

/// What the sandbox is told when it starts.
#[derive(Clone, Debug)]
pub struct SandboxSettings {
    /// Where the sandbox is reached, such as `http://127.0.0.1:3000/sandbox`.
    pub base_url: String,
    /// Where the registered client may send users back to.
    pub redirect_uris: Vec<url::Url>,
    /// How long an access token lives.
    pub access_token_lifetime: chrono::Duration,
    /// The JSON file the sandbox keeps its state in.
    pub state_file: PathBuf,
    /// Tether's guarded client: subscribers name the URLs the sandbox posts to, so they pass the same policy.
    pub outbound: crate::providers::outbound::Outbound,
}

/// How many deliveries the inbox shows.
pub(super) const INBOX_SIZE: usize = 20;

/// One event Tether delivered to the sandbox's inbox.
#[derive(Clone, Debug)]
pub struct Delivered {
    pub at: chrono::DateTime<chrono::Utc>,
    pub event_id: String,
    pub summary: String,
    pub signed: bool,
}

/// The running sandbox: its settings, state and authorization server.
pub struct Sandbox {
    pub(super) settings: SandboxSettings,
    pub(super) data: Mutex<SandboxData>,
    pub(super) oauth: super::authorization::AuthorizationServer,
    /// The latest events delivered to `/sandbox/inbox`, newest first; kept in memory only.
    pub(super) inbox: Mutex<std::collections::VecDeque<Delivered>>,
}

impl Sandbox {
    /// Loads the state file (or starts afresh, making the client secret) and prepares the server.
    pub fn open(settings: SandboxSettings) -> anyhow::Result<Arc<Sandbox>> {
        let mut data = SandboxData::load(&settings.state_file)?;
        if data.client_secret.is_empty() {
            use rand::distributions::{Alphanumeric, DistString};
            data.client_secret = Alphanumeric.sample_string(&mut rand::thread_rng(), 32);
            data.save(&settings.state_file)
                .map_err(|error| anyhow::anyhow!("cannot write {}: {error}", settings.state_file.display()))?;
        }
        let oauth = super::authorization::AuthorizationServer::new(&data.client_secret, &settings.redirect_uris)?;
        Ok(Arc::new(Sandbox { settings, data: Mutex::new(data), oauth, inbox: Mutex::default() }))
    }

    /// Changes the state under its lock and writes it to the state file.
    pub(super) fn change<T>(&self, apply: impl FnOnce(&mut SandboxData) -> T) -> T {
        let mut data = self.data.lock().expect("sandbox state");
        let result = apply(&mut data);
        if let Err(error) = data.save(&self.settings.state_file) {
            tracing::error!(%error, "the sandbox could not write its state file");
        }
        result
    }

    /// Until when a staged outage of the token endpoint lasts, if one does.
    pub(super) fn token_outage(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.data.lock().expect("sandbox state").outage_active(chrono::Utc::now())
    }

    /// Sends a change to every webhook subscription, signed with the client secret, without waiting.
    pub(super) fn announce(self: &Arc<Sandbox>, change: Change) {
        let (subscriptions, secret) = {
            let data = self.data.lock().expect("sandbox state");
            (data.subscriptions.clone(), data.client_secret.clone())
        };
        let body = serde_json::json!({ "events": [change] }).to_string();
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
        mac.update(body.as_bytes());
        let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        for subscription in subscriptions {
            let Ok(url) = url::Url::parse(&subscription.url) else { continue };
            let outbound = self.settings.outbound.clone();
            let request = outbound
                .post(url)
                .timeout(std::time::Duration::from_secs(10))
                .header("content-type", "application/json")
                .header(SIGNATURE_HEADER, &signature)
                .body(body.clone());
            tokio::spawn(async move {
                match outbound.send(request).await {
                    Ok(response) if response.status().is_success() => {}
                    Ok(response) => {
                        tracing::warn!(subscription = subscription.id, status = %response.status(), "a sandbox webhook was refused")
                    }
                    Err(error) => tracing::warn!(subscription = subscription.id, %error, "a sandbox webhook failed"),
                }
            });
        }
    }
}
