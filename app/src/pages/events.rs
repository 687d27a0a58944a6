//! The events page: the organization's event log with a status filter, one event's delivered body and delivery
//! record, and Redeliver.

use super::{PageHeader, error_text, when};
use crate::error::HubError;
use crate::events::{Event, EventStatus};
use crate::server_fns::{event_details, list_events, redeliver_event};
use leptos::prelude::*;
use leptos::task::spawn_local;

#[component]
pub fn EventsPage() -> impl IntoView {
    let status = RwSignal::new(None::<EventStatus>);
    let reloads = RwSignal::new(0u32);
    let listed = Resource::new(move || (status.get(), reloads.get()), |(status, _)| list_events(status));
    let opened = RwSignal::new(None::<String>);
    view! {
        <PageHeader
            title="Events"
            summary="Changes Tether heard of, by polling or by the provider's webhooks, and how their delivery to your callback URL went."
        />
        <div class="filters">
            <label>
                "Status "
                <select
                    aria-label="Status"
                    on:change=move |event| status.set(EventStatus::parse(&event_target_value(&event)))
                >
                    <option value="">"Any"</option>
                    {EventStatus::ALL
                        .into_iter()
                        .map(|status| view! { <option value=status.as_str()>{status.as_str()}</option> })
                        .collect_view()}
                </select>
            </label>
            <button type="button" on:click=move |_| reloads.update(|count| *count += 1)>"Refresh"</button>
        </div>
        <Suspense fallback=|| view! { <p>"Loading events…"</p> }>
            <ErrorBoundary fallback=|errors| view! { <p class="form-error" role="alert">{move || error_text(&errors.get())}</p> }>
                {move || Suspend::new(async move {
                    let events = listed.await?;
                    let view = if events.is_empty() {
                        view! { <section class="empty-state"><p>"No events yet."</p></section> }.into_any()
                    } else {
                        view! { <EventTable events opened/> }.into_any()
                    };
                    Ok::<_, HubError>(view)
                })}
            </ErrorBoundary>
        </Suspense>
        {move || opened.get().map(|event_id| view! { <EventDetail event_id reloads/> })}
    }
}

#[component]
fn EventTable(events: Vec<Event>, opened: RwSignal<Option<String>>) -> impl IntoView {
    view! {
        <div class="table-scroll">
        <table class="table events" aria-label="Events">
            <thead>
                <tr>
                    <th>"Created"</th><th>"Instance"</th><th>"Heard by"</th><th>"Change"</th><th>"Object"</th>
                    <th>"Status"</th><th>"Attempts"</th><th>"Last answer"</th><th></th>
                </tr>
            </thead>
            <tbody>
                {events
                    .into_iter()
                    .map(|event| {
                        let id = event.event_id.clone();
                        view! {
                            <tr data-testid="event" data-status=event.status.as_str() data-source=event.source.clone()>
                                <td>{when(&event.created_date)}</td>
                                <td>{event.instance_id.to_string()}</td>
                                <td>{event.source.clone()}</td>
                                <td>{event.change.event_type.clone()}</td>
                                <td>{format!("{} {}", event.change.object_type, event.change.object_id)}</td>
                                <td class=format!("event-status status-{}", event.status.as_str().to_ascii_lowercase())>
                                    {event.status.as_str()}
                                </td>
                                <td>{event.attempts}</td>
                                <td>{event.last_response_code.map(|code| code.to_string()).unwrap_or_default()}</td>
                                <td>
                                    <button type="button" on:click=move |_| opened.set(Some(id.clone()))>"Details"</button>
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        </div>
    }
}

#[component]
fn EventDetail(event_id: String, reloads: RwSignal<u32>) -> impl IntoView {
    let detail = Resource::new(move || (event_id.clone(), reloads.get()), |(id, _)| event_details(id));
    let message = RwSignal::new(None::<String>);
    view! {
        <section class="event-detail" aria-label="Event">
            <Suspense fallback=|| view! { <p>"Loading the event…"</p> }>
                <ErrorBoundary fallback=|errors| view! { <p class="form-error" role="alert">{move || error_text(&errors.get())}</p> }>
                    {move || Suspend::new(async move {
                        let event = detail.await?;
                        let id = event.event_id.clone();
                        let redeliver = move |_| {
                            let id = id.clone();
                            spawn_local(async move {
                                match redeliver_event(id).await {
                                    Ok(_) => {
                                        message.set(Some("Queued for delivery now".into()));
                                        reloads.update(|count| *count += 1);
                                    }
                                    Err(error) => message.set(Some(error.to_string())),
                                }
                            });
                        };
                        let payload = event
                            .payload
                            .as_ref()
                            .and_then(|payload| serde_json::to_string_pretty(payload).ok())
                            .unwrap_or_default();
                        Ok::<_, HubError>(view! {
                            <h2>{format!("Event {}", event.event_id)}</h2>
                            <dl class="facts event-facts">
                                <dt>"Status"</dt><dd data-testid="event-status">{event.status.as_str()}</dd>
                                <dt>"Heard by"</dt><dd>{event.source.clone()}</dd>
                                <dt>"Attempts"</dt><dd>{event.attempts}</dd>
                                <dt>"Last answer"</dt>
                                <dd>{event.last_response_code.map(|code| code.to_string()).unwrap_or_else(|| "none".into())}</dd>
                                <dt>"Last error"</dt><dd>{event.last_error.clone().unwrap_or_else(|| "none".into())}</dd>
                                <dt>"Next attempt"</dt><dd>{event.next_attempt_at.as_ref().map(when).unwrap_or_else(|| "none".into())}</dd>
                                <dt>"Delivered"</dt><dd>{event.delivered_at.as_ref().map(when).unwrap_or_else(|| "not yet".into())}</dd>
                            </dl>
                            {if event.headers.is_empty() {
                                view! { <p class="muted">"No attempt has gone out yet."</p> }.into_any()
                            } else {
                                view! {
                                    <div class="table-scroll">
                                    <table class="table event-headers" aria-label="Headers of the last attempt">
                                        <thead><tr><th>"Header"</th><th>"Value"</th></tr></thead>
                                        <tbody>
                                            {event.headers.iter().map(|(name, value)| view! {
                                                <tr><td><code>{name.clone()}</code></td><td><code>{value.clone()}</code></td></tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                    </div>
                                }.into_any()
                            }}
                            <pre class="event-payload" data-testid="event-payload">{payload}</pre>
                            <button type="button" on:click=redeliver>"Redeliver"</button>
                            {move || message.get().map(|text| view! { <p role="status">{text}</p> })}
                        })
                    })}
                </ErrorBoundary>
            </Suspense>
        </section>
    }
}
