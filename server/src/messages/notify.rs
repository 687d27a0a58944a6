//! Notices to an organization's people about its instances: what each one says, and mailing it over SMTP.

use crate::store::instances::{InstanceRecord, NotifiedState};
use crate::store::notifications::{NewNotification, NotificationRecord};
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

/// The notice that tells an organization an instance is now `state`: disabled after failed refreshes, refused
/// by its provider, or working again.
pub fn compose(
    state: NotifiedState,
    record: &InstanceRecord,
    element_key: &str,
    detail: &str,
    recipients: Vec<String>,
) -> NewNotification {
    let name = format!("\"{}\" ({element_key}, instance {})", record.name, record.id);
    let (kind, subject, body) = match state {
        NotifiedState::Disabled => (
            "instance.disabled",
            format!("Tether disabled the instance {name}"),
            format!(
                "Tether could not refresh the OAuth tokens of the instance {name} after {} attempts in a row, and \
                 has disabled it. Calls through it are refused until it is enabled again.\n\nLast error: {detail}\n\n\
                 Once the provider works again, enable the instance in the console or with \
                 PUT /elements/api-v2/instances/{}/enabled.\n",
                record.refresh_failures, record.id
            ),
        ),
        NotifiedState::Invalid => (
            "instance.invalid",
            format!("The instance {name} needs re-authentication"),
            format!(
                "The provider no longer accepts the grant of the instance {name}: it was revoked, expired or \
                 replaced. Tether will not retry it.\n\nProvider's answer: {detail}\n\nRe-authenticate the \
                 instance in the console, or with PATCH /elements/api-v2/instances/{} and a new providerData.code; \
                 its id and token stay the same.\n",
                record.id
            ),
        ),
        NotifiedState::Ok => (
            "instance.recovered",
            format!("The instance {name} works again"),
            format!("The instance {name} is enabled and valid again; calls through it go to the provider.\n"),
        ),
    };
    NewNotification {
        organization_id: record.organization_id,
        instance_id: Some(record.id),
        kind: kind.to_owned(),
        recipients,
        subject,
        body,
    }
}

/// Sends notices through the configured SMTP server.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// The mailer for `smtp_url`, sending as `from`.
    pub fn new(smtp_url: &SecretString, from: &str) -> anyhow::Result<Mailer> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url.expose_secret())
            // The URL may hold a password: the error must not repeat it.
            .map_err(|_| anyhow::anyhow!("smtp_url is not a valid smtp:// or smtps:// URL"))?
            .timeout(Some(Duration::from_secs(20)))
            .build();
        let from = from.parse().map_err(|error| anyhow::anyhow!("mail_from: {error}"))?;
        Ok(Mailer { transport, from })
    }

    /// Sends one notice to all its recipients as one message.
    pub async fn send(&self, notification: &NotificationRecord) -> Result<(), String> {
        let notice = &notification.notice;
        let mut message = Message::builder().from(self.from.clone()).subject(&notice.subject);
        for recipient in &notice.recipients {
            let mailbox: Mailbox = recipient.parse().map_err(|error| format!("recipient {recipient}: {error}"))?;
            message = message.to(mailbox);
        }
        let message = message
            .header(ContentType::TEXT_PLAIN)
            .body(notice.body.clone())
            .map_err(|error| format!("the message cannot be built: {error}"))?;
        self.transport.send(message).await.map(|_| ()).map_err(|error| error.to_string())
    }
}
