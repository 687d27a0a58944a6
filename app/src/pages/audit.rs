//! The audit page: the organization's audit log, newest first, filtered by action and actor; admins only.

use super::{PageHeader, error_text};
use crate::server_fns::audit_log;
use crate::types::AuditQuery;
use leptos::prelude::*;

#[component]
pub fn AuditPage() -> impl IntoView {
    let action = RwSignal::new(String::new());
    let actor = RwSignal::new(String::new());
    let applied = RwSignal::new(AuditQuery::default());
    let listed = Resource::new(move || applied.get(), audit_log);
    let apply = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let text = |value: String| Some(value.trim().to_owned()).filter(|value| !value.is_empty());
        applied.set(AuditQuery {
            action: text(action.get_untracked()),
            actor: text(actor.get_untracked()),
            ..AuditQuery::default()
        });
    };
    view! {
        <PageHeader
            title="Audit log"
            summary="Who did what, and when: sign-ins, instance changes, token views and more. Records never hold secrets."
        />
        <form class="filters" on:submit=apply aria-label="Audit filters">
            <label>
                "Action"
                <input type="text" placeholder="instance. or session.refused" on:input=move |event| action.set(event_target_value(&event))/>
            </label>
            <label>
                "Actor"
                <input type="text" placeholder="user:1" on:input=move |event| actor.set(event_target_value(&event))/>
            </label>
            <button type="submit">"Filter"</button>
        </form>
        <Suspense fallback=|| view! { <p>"Loading the audit log…"</p> }>
            <ErrorBoundary fallback=|errors| view! { <p class="form-error" role="alert">{move || error_text(&errors.get())}</p> }>
                {move || Suspend::new(async move {
                    let records = listed.await?;
                    let view = if records.is_empty() {
                        view! { <section class="empty-state"><p>"No records match."</p></section> }.into_any()
                    } else {
                        view! {
                            <div class="table-scroll">
                            <table class="table audit" aria-label="Audit log">
                                <thead>
                                    <tr><th>"At (UTC)"</th><th>"Actor"</th><th>"Action"</th><th>"Target"</th></tr>
                                </thead>
                                <tbody>
                                    {records
                                        .into_iter()
                                        .map(|record| view! {
                                            <tr data-testid="audit-record">
                                                <td>{record.at.format("%Y-%m-%d %H:%M:%S").to_string()}</td>
                                                <td><code>{record.actor}</code></td>
                                                <td>{record.action}</td>
                                                <td><code>{record.target}</code></td>
                                            </tr>
                                        })
                                        .collect_view()}
                                </tbody>
                            </table>
                            </div>
                        }
                            .into_any()
                    };
                    Ok::<_, crate::error::HubError>(view)
                })}
            </ErrorBoundary>
        </Suspense>
    }
}
