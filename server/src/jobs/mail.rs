//! The mailer: sends the outbox's due notices through SMTP, one claim per notice across nodes, retrying a failed
//! sending with a growing wait.

use crate::messages::notify::Mailer;
use crate::store::Store;

/// How many notices one pass sends at most.
const BATCH: i64 = 20;

/// The wait before sending a notice again after `attempts` failures: 5 s doubling, at most an hour.
fn retry_wait_millis(attempts: i64) -> i64 {
    (5_000_i64 << attempts.clamp(0, 10)).min(3_600_000)
}

/// One pass over the due notices.
pub async fn send_due(store: Store, mailer: Mailer) -> anyhow::Result<()> {
    for notification in store.claim_due_notifications(BATCH).await? {
        match mailer.send(&notification).await {
            Ok(()) => {
                store.mark_notification_sent(notification.id).await?;
                metrics::counter!("tether_mail_total", "outcome" => "sent").increment(1);
                tracing::info!(notice = notification.id, kind = %notification.notice.kind, "mailed a notice");
            }
            Err(error) => {
                let wait = retry_wait_millis(notification.attempts);
                store.mark_notification_failed(notification.id, &error, wait).await?;
                metrics::counter!("tether_mail_total", "outcome" => "failed").increment(1);
                tracing::warn!(notice = notification.id, %error, "could not mail a notice; it will be tried again");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn waits_grow_and_stop_at_an_hour() {
        assert_eq!(super::retry_wait_millis(0), 5_000);
        assert_eq!(super::retry_wait_millis(1), 10_000);
        assert_eq!(super::retry_wait_millis(30), 3_600_000);
    }
}
