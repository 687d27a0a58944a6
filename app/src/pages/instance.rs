//! The instance page (`/instances/{id}`): one connection's health, whose it is, its story as a timeline, and its
//! latest calls with a small chart, read again every few seconds while the page is open.

use super::{PageTitle, when};
use crate::call_logs::CallLog;
use crate::error::HubError;
use crate::history::{HistoryEntry, HistoryKind, InstanceStory};
use crate::instances::InstanceId;
use crate::server_fns::instance_story;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use std::time::Duration;

/// How often the open page reads the instance again.
const REFRESH_EVERY: Duration = Duration::from_secs(3);
/// How many one-minute columns the calls chart has.
const CHART_MINUTES: i64 = 30;

#[component]
pub fn InstancePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|id| id.parse::<i64>().ok()).map(InstanceId);
    let story = Resource::new(id, |id| async move {
        match id {
            Some(id) => instance_story(id).await,
            None => Err(HubError::NotFound("No instance has that id".into())),
        }
    });
    // In the browser only: effects do not run while rendering on the server.
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(move || story.refetch(), REFRESH_EVERY) {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <p class="breadcrumb"><a href="/instances">"Instances"</a></p>
        <Transition fallback=|| view! { <p>"Loading the instance…"</p> }>
            <ErrorBoundary fallback=|errors| view! {
                <PageTitle title="Instance"/>
                <p class="form-error">{move || super::error_text(&errors.get())}</p>
            }>
                {move || Suspend::new(async move {
                    let story = story.await?;
                    Ok::<_, HubError>(view! { <StoryView story/> })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn StoryView(story: InstanceStory) -> impl IntoView {
    let card = story.card;
    let health = story.health;
    let (label, class) = super::instances::health_badge(card.health);
    let instances_link = format!("/instances?instance={}", card.id.0);
    let optional = |at: Option<chrono::DateTime<chrono::Utc>>| at.map(|at| when(&at)).unwrap_or_else(|| "–".into());
    view! {
        <PageTitle title=card.name.clone()/>
        <header class="instance-page-header">
            <h1 class="instance-name">{card.name.clone()}</h1>
            <span class=class data-testid="health">{label}</span>
        </header>
        <p class="instance-meta">
            "#" {card.id.0} " · " {card.element_name.clone()} " (" <code>{card.element_key.clone()}</code> ")"
            " · " <a href=instances_link>"Edit, try it out or re-authenticate"</a>
        </p>
        <section class="instance-sections">
            <section aria-labelledby="health-heading">
                <h2 id="health-heading">"Health"</h2>
                <dl class="facts" data-testid="instance-facts">
                    <dt>"Access token expires"</dt><dd>{optional(health.access_token_expires_at)}</dd>
                    <dt>"Last refreshed"</dt><dd>{optional(health.last_refreshed_at)}</dd>
                    <dt>"Failed refreshes in a row"</dt><dd>{health.failed_refreshes}</dd>
                    <dt>"Renewal"</dt>
                    <dd data-testid="renewal">{if health.renewable {
                        "automatic"
                    } else {
                        "none: the provider sent no refresh token; re-authenticate before the access token expires"
                    }}</dd>
                    {health.refresh_token_expires_at.map(|at| view! {
                        <dt>"Refresh token expires"</dt>
                        <dd data-testid="refresh-token-expiry">{when(&at)} " (re-authenticate before then)"</dd>
                    })}
                    <dt>"Last error"</dt>
                    <dd class="long-text">{health.last_error.clone().unwrap_or_else(|| "–".into())}</dd>
                    <dt>"Events"</dt><dd>{if card.events_enabled { "on" } else { "off" }}</dd>
                    <dt>"Call logs"</dt>
                    <dd>{if story.trace_logging_enabled { "with headers and bodies" } else { "summary only" }}</dd>
                    <dt>"End user"</dt>
                    <dd class="long-text">{story.end_user.map(|user| match user.email {
                        Some(email) => format!("{} ({email})", user.id),
                        None => user.id,
                    }).unwrap_or_else(|| "–".into())}</dd>
                    <dt>"Tags"</dt><dd class="long-text">{if card.tags.is_empty() { "–".into() } else { card.tags.join(", ") }}</dd>
                    <dt>"Created"</dt><dd>{when(&card.created_date)}</dd>
                </dl>
            </section>
            <section aria-labelledby="timeline-heading">
                <h2 id="timeline-heading">"Timeline"</h2>
                <Timeline entries=story.history/>
            </section>
        </section>
        <section aria-labelledby="calls-heading">
            <h2 id="calls-heading">"Recent calls"</h2>
            <CallsChart calls=story.calls.clone() now=story.read_at/>
            <CallsTable calls=story.calls/>
        </section>
    }
}

#[component]
fn Timeline(entries: Vec<HistoryEntry>) -> impl IntoView {
    if entries.is_empty() {
        return view! { <p class="muted">"Nothing has happened to this instance yet."</p> }.into_any();
    }
    view! {
        <ol class="timeline" data-testid="timeline">
            {entries.into_iter().map(|entry| {
                let kind = entry.kind;
                let actor = entry.actor_text();
                let detail = match kind {
                    HistoryKind::Refreshed if !entry.detail.is_empty() => chrono::DateTime::parse_from_rfc3339(&entry.detail)
                        .map(|at| format!("new access token valid until {}", when(&at.to_utc())))
                        .unwrap_or(entry.detail.clone()),
                    _ => entry.detail.clone(),
                };
                view! {
                    <li class="timeline-entry" class:failure=kind.is_failure() data-testid="history-entry" data-kind=kind.as_str()>
                        <span class="timeline-what">{kind.label()}</span>
                        <span class="timeline-when">{when(&entry.at)} " · by " {actor}</span>
                        {(!detail.is_empty()).then(|| view! { <span class="timeline-detail long-text">{detail}</span> })}
                    </li>
                }
            }).collect_view()}
        </ol>
    }
    .into_any()
}

/// Calls and errors per minute over the half hour before `now`, as bars.
#[component]
fn CallsChart(calls: Vec<CallLog>, now: chrono::DateTime<chrono::Utc>) -> impl IntoView {
    let mut columns = vec![(0u32, 0u32); CHART_MINUTES as usize];
    for call in &calls {
        let minutes_ago = (now - call.at).num_minutes();
        if (0..CHART_MINUTES).contains(&minutes_ago) {
            let column = &mut columns[(CHART_MINUTES - 1 - minutes_ago) as usize];
            column.0 += 1;
            column.1 += u32::from(call.status >= 400);
        }
    }
    let tallest = columns.iter().map(|(all, _)| *all).max().unwrap_or(0).max(1);
    let (total, errors) = columns.iter().fold((0, 0), |(total, errors), (all, failed)| (total + all, errors + failed));
    let summary = format!("{total} calls and {errors} errors among the latest, in the last {CHART_MINUTES} minutes");
    let bar_height = |count: u32| f64::from(count) * 40.0 / f64::from(tallest);
    view! {
        <figure class="calls-chart">
            <svg viewBox=format!("0 0 {} 40", CHART_MINUTES * 6) role="img" aria-label=summary.clone()>
                {columns.iter().enumerate().map(|(column, (all, failed))| {
                    let x = column * 6;
                    view! {
                        <rect class="bar-ok" x=x y=40.0 - bar_height(*all) width="5" height=bar_height(*all)/>
                        <rect class="bar-error" x=x y=40.0 - bar_height(*failed) width="5" height=bar_height(*failed)/>
                    }
                }).collect_view()}
            </svg>
            <figcaption class="muted">{summary}</figcaption>
        </figure>
    }
}

#[component]
fn CallsTable(calls: Vec<CallLog>) -> impl IntoView {
    if calls.is_empty() {
        return view! { <p class="muted">"No calls through this instance yet."</p> }.into_any();
    }
    view! {
        <div class="table-scroll">
            <table class="table" data-testid="calls">
                <thead><tr><th>"When"</th><th>"Call"</th><th>"Status"</th><th>"Time"</th><th>"Bytes in / out"</th></tr></thead>
                <tbody>
                    {calls.into_iter().map(|call| view! {
                        <tr data-testid="call" class:failure={call.status >= 400}>
                            <td>{when(&call.at)}</td>
                            <td class="long-text"><code>{call.method.clone()} " " {call.path.clone()}</code>
                                {call.refreshed.then_some(" · after a refresh")}</td>
                            <td>{call.status}</td>
                            <td>{format!("{:.1} ms", call.duration_ms)}</td>
                            <td>{call.request_bytes} " / " {call.response_bytes}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
