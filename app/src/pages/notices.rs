//! The notices page: what Tether told the organization about its instances (disabled after failed refreshes,
//! refused by the provider, working again), and whether each was mailed or waits in the outbox.

use super::{PageHeader, error_text};
use crate::instances::Notice;
use crate::server_fns::notices;
use leptos::prelude::*;

/// How a notice's delivery reads: mailed, waiting in the outbox, or failing to send.
fn delivery(notice: &Notice) -> String {
    if notice.channel == "sms" {
        return "Text message kept in the outbox: no SMS provider is configured".to_owned();
    }
    match (&notice.sent_at, &notice.last_error) {
        (Some(at), _) => format!("Mailed {}", at.format("%Y-%m-%d %H:%M UTC")),
        (None, Some(error)) => format!("Not mailed yet ({} attempts): {error}", notice.attempts),
        (None, None) => "In the outbox".to_owned(),
    }
}

#[component]
pub fn NoticesPage() -> impl IntoView {
    let listed = Resource::new(|| (), |_| notices());
    view! {
        <PageHeader
            title="Notices"
            summary="What Tether told your organization about its instances. Without an SMTP server they wait here."
        />
        <Suspense fallback=|| view! { <p>"Loading notices…"</p> }>
            <ErrorBoundary fallback=|errors| view! { <p class="error">{move || error_text(&errors.get())}</p> }>
                {move || Suspend::new(async move {
                    let notices = listed.await?;
                    let view = if notices.is_empty() {
                        view! { <section class="empty-state"><p>"No notices yet."</p></section> }.into_any()
                    } else {
                        view! {
                            <ul class="notices">
                                {notices
                                    .into_iter()
                                    .map(|notice| {
                                        let delivered = delivery(&notice);
                                        view! {
                                            <li
                                                class="notice"
                                                data-kind=notice.kind.clone()
                                                data-channel=notice.channel.clone()
                                                data-testid="notice"
                                            >
                                                <h2>{notice.subject.clone()}</h2>
                                                <p class="notice-meta">
                                                    {notice.created_at.format("%Y-%m-%d %H:%M UTC").to_string()}
                                                    " · to " {notice.recipients.join(", ")} " · " {delivered}
                                                </p>
                                                <pre class="notice-body">{notice.body.clone()}</pre>
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                        }
                            .into_any()
                    };
                    Ok::<_, crate::error::HubError>(view)
                })}
            </ErrorBoundary>
        </Suspense>
    }
}
