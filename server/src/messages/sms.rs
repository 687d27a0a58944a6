//! Text messages for sign-in codes: sent to an HTTP SMS provider when one is configured, else kept in the
//! notification outbox for development.

use crate::store::Store;
use crate::store::notifications::NewNotification;
use app::types::OrganizationId;
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

/// One text message. Its body holds a code, so it never prints.
pub struct TextMessage {
    pub organization: OrganizationId,
    /// The number, in E.164 form.
    pub to: String,
    pub body: SecretString,
}

/// Sends text messages somewhere.
#[async_trait::async_trait]
pub trait SmsSender: Send + Sync {
    /// Sends one message; the error says why it failed, without its body.
    async fn send(&self, message: &TextMessage) -> Result<(), String>;
}

/// Where text messages go, as configured.
#[derive(Clone, Debug, Default)]
pub enum SmsRoute {
    /// Kept in the notification outbox, for development: no message leaves the machine.
    #[default]
    Outbox,
    /// Posted as JSON `{"to": …, "body": …}` to an SMS provider's URL, with the bearer token if set.
    Http { url: String, token: Option<SecretString> },
}

impl SmsRoute {
    pub fn sender(&self, store: Store) -> Box<dyn SmsSender> {
        match self {
            SmsRoute::Outbox => {
                tracing::info!("no sms_url is set: codes sent by text message stay in the console's outbox");
                Box::new(OutboxSms { store })
            }
            SmsRoute::Http { url, token } => Box::new(HttpSms {
                http: reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("the client builds"),
                url: url.clone(),
                token: token.clone(),
            }),
        }
    }
}

/// Keeps messages in the outbox, on the `sms` channel the mailer leaves alone.
struct OutboxSms {
    store: Store,
}

#[async_trait::async_trait]
impl SmsSender for OutboxSms {
    async fn send(&self, message: &TextMessage) -> Result<(), String> {
        let notice = NewNotification {
            organization_id: message.organization,
            instance_id: None,
            kind: "sms.code".to_owned(),
            recipients: vec![message.to.clone()],
            subject: format!("Text message to {}", message.to),
            body: message.body.expose_secret().to_owned(),
        };
        self.store.keep_text_message(&notice).await.map_err(|error| error.to_string())
    }
}

/// Posts messages to an SMS provider's HTTP endpoint.
struct HttpSms {
    http: reqwest::Client,
    url: String,
    token: Option<SecretString>,
}

#[async_trait::async_trait]
impl SmsSender for HttpSms {
    async fn send(&self, message: &TextMessage) -> Result<(), String> {
        let body = serde_json::json!({ "to": message.to, "body": message.body.expose_secret() });
        let mut request = self.http.post(&self.url).json(&body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose_secret());
        }
        let response = request.send().await.map_err(|error| format!("the SMS provider did not answer: {error}"))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("the SMS provider answered {}", response.status()))
        }
    }
}
