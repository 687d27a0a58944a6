//! The instances page: the organization's authenticated connections, searched, filtered by element and health,
//! ordered and paged by the server with the view kept in the URL, each with its health and its actions (view
//! token, edit, re-authenticate, disable or enable, delete).

use super::PageHeader;
use super::event_fields::EventFields;
use super::tags::TagInput;
use crate::error::HubError;
use crate::instance_table::{HealthFilter, InstanceSort, InstanceTablePage, InstanceTableQuery};
use crate::instances::{
    ConsoleAuthentication, ConsoleNext, HealthState, InstanceCard, InstanceId, TryRequest, TryResponse,
};
use crate::server_fns::{
    begin_authentication, delete_instance, event_form, instance_table, instance_token, set_instance_enabled,
    try_it_out, update_instance,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;
use std::collections::BTreeMap;

#[component]
pub fn InstancesPage() -> impl IntoView {
    let url = use_query_map();
    let query = Memo::new(move |_| url.with(|url| InstanceTableQuery::from_url(|name| url.get(name))));
    let page = Resource::new(move || query.get(), instance_table);
    view! {
        <PageHeader title="Instances" summary="Element instances: one user's authenticated connection to one provider."/>
        <Transition fallback=|| view! { <p>"Loading instances…"</p> }>
            <ErrorBoundary fallback=|errors| view! { <p class="form-error">{move || super::error_text(&errors.get())}</p> }>
                {move || Suspend::new(async move {
                    let listing = page.await?;
                    Ok::<_, HubError>(view! { <InstanceListing listing query=query.get_untracked()/> })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

/// The search form: a plain GET form, so it works before the page is interactive and keeps what was typed; once
/// it is, the router takes it and changing a filter applies it at once.
#[component]
fn ListingControls(query: InstanceTableQuery, elements: Vec<(String, String)>) -> impl IntoView {
    let submit_form = |event: leptos::ev::Event| {
        use wasm_bindgen::JsCast;
        if let Some(form) = event_target::<web_sys::HtmlElement>(&event).closest("form").ok().flatten() {
            let _ = form.unchecked_into::<web_sys::HtmlFormElement>().request_submit();
        }
    };
    view! {
        <Form method="GET" action="/instances" attr:class="instance-filters" attr:role="search" attr:aria-label="Find instances">
            <label class="instance-search">
                "Search"
                <input type="search" name="q" value=query.search.clone() placeholder="Name, tag, end user or element"/>
            </label>
            <label>
                "Element"
                <select name="element" aria-label="Filter by element" on:change=submit_form>
                    <option value="" selected=query.element.is_empty()>"All elements"</option>
                    {elements.into_iter().map(|(key, name)| {
                        let selected = key == query.element;
                        view! { <option value=key selected=selected>{name}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label>
                "Health"
                <select name="health" aria-label="Filter by health" on:change=submit_form>
                    <option value="" selected=query.health.is_none()>"Any health"</option>
                    {HealthFilter::ALL.into_iter().map(|health| view! {
                        <option value=health.as_str() selected=query.health == Some(health)>{health.label()}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>
                "Order"
                <select name="sort" aria-label="Order" on:change=submit_form>
                    {InstanceSort::ALL.into_iter().map(|sort| view! {
                        <option value=sort.as_str() selected=query.sort == sort>{sort.label()}</option>
                    }).collect_view()}
                </select>
            </label>
            <button type="submit">"Search"</button>
        </Form>
    }
}

#[component]
fn InstanceListing(listing: InstanceTablePage, query: InstanceTableQuery) -> impl IntoView {
    let pages = listing.pages();
    let total = listing.total;
    let count = match (total, query.instance) {
        (_, Some(id)) => format!("Instance {}", id.0),
        (1, None) => "1 instance".to_owned(),
        (total, None) => format!("{total} instances"),
    };
    let page = query.page.min(pages);
    let (previous, next) = (query.on_page(page.saturating_sub(1)).to_url(), query.on_page(page + 1).to_url());
    view! {
        <ListingControls query=query.clone() elements=listing.elements.clone()/>
        <p class="listing-count" data-testid="listing-count" aria-live="polite">
            {count}
            {query.instance.map(|_| view! { " · " <a href="/instances">"Show all instances"</a> })}
        </p>
        <InstanceList cards=listing.cards highlighted=query.instance.map(|id| id.0)/>
        {(pages > 1).then(|| view! {
            <nav class="pager" aria-label="Pages">
                {(page > 1).then(|| view! { <a href=previous rel="prev">"Previous"</a> })}
                <span data-testid="page-number">{format!("Page {page} of {pages}")}</span>
                {(page < pages).then(|| view! { <a href=next rel="next">"Next"</a> })}
            </nav>
        })}
    }
}

/// How an instance's state is shown: the words, and the class that colours them.
pub(super) fn health_badge(state: HealthState) -> (&'static str, &'static str) {
    let class = match state {
        HealthState::Disabled => "health health-disabled",
        HealthState::Invalid | HealthState::RefreshFailing => "health health-invalid",
        HealthState::Expiring => "health health-expiring",
        HealthState::Valid => "health health-ok",
    };
    (state.label(), class)
}

#[component]
fn InstanceList(cards: Vec<InstanceCard>, highlighted: Option<i64>) -> impl IntoView {
    let ids: Vec<InstanceId> = cards.iter().map(|card| card.id).collect();
    let items = RwSignal::new(cards);
    let visible =
        move || ids.iter().copied().filter(|id| items.read().iter().any(|card| card.id == *id)).collect::<Vec<_>>();
    view! {
        <Show
            when=move || !items.read().is_empty()
            fallback=|| view! { <section class="empty-state"><p>"No element instances match."</p></section> }
        >
            <ul class="instance-list">
                <For
                    each=visible.clone()
                    key=|id: &InstanceId| *id
                    children=move |id: InstanceId| view! { <InstanceCardView id items highlighted=highlighted == Some(id.0)/> }
                />
            </ul>
        </Show>
    }
}

/// Replaces the card with this id by what the server answered.
fn replace_card(items: RwSignal<Vec<InstanceCard>>, updated: InstanceCard) {
    items.update(|cards| {
        if let Some(card) = cards.iter_mut().find(|card| card.id == updated.id) {
            *card = updated;
        }
    });
}

#[component]
fn InstanceCardView(id: InstanceId, items: RwSignal<Vec<InstanceCard>>, highlighted: bool) -> impl IntoView {
    let card = move || items.read().iter().find(|card| card.id == id).cloned();
    let token = RwSignal::new(None::<String>);
    let copied = RwSignal::new(None::<&'static str>);
    let editing = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    let trying = RwSignal::new(false);
    let failure = RwSignal::new(None::<String>);
    let name = RwSignal::new(String::new());
    let tags = RwSignal::new(Vec::<String>::new());
    let events = RwSignal::new(BTreeMap::<String, String>::new());
    let events_form = RwSignal::new(None::<crate::events::EventForm>);
    let fail = move |error: HubError| failure.set(Some(error.to_string()));

    let reveal = move |_| {
        spawn_local(async move {
            match instance_token(id).await {
                Ok(value) => token.set(Some(value)),
                Err(error) => fail(error),
            }
        })
    };
    let copy = move |_| {
        let Some(value) = token.get_untracked() else { return };
        let promise = window().navigator().clipboard().write_text(&value);
        spawn_local(async move {
            let outcome = wasm_bindgen_futures::JsFuture::from(promise).await;
            copied.set(Some(if outcome.is_ok() { "Copied" } else { "Copy failed" }));
        });
    };
    let start_edit = move |_| {
        if let Some(card) = card() {
            name.set(card.name);
            tags.set(card.tags);
            events.set(BTreeMap::new());
            events_form.set(None);
            editing.set(true);
            spawn_local(async move {
                match event_form(card.element_key, Some(id)).await {
                    Ok(form) => events_form.set(Some(form)),
                    Err(error) => fail(error),
                }
            });
        }
    };
    let save = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        spawn_local(async move {
            match update_instance(id, name.get_untracked(), tags.get_untracked(), events.get_untracked()).await {
                Ok(updated) => {
                    replace_card(items, updated);
                    editing.set(false);
                    failure.set(None);
                }
                Err(error) => fail(error),
            }
        })
    };
    let toggle = move |enabled: bool| {
        spawn_local(async move {
            match set_instance_enabled(id, enabled).await {
                Ok(updated) => replace_card(items, updated),
                Err(error) => fail(error),
            }
        })
    };
    let reauthenticate = move |_| {
        let Some(card) = card() else { return };
        let form = ConsoleAuthentication { element: card.element_key, instance: Some(id), ..Default::default() };
        spawn_local(async move {
            match begin_authentication(form).await {
                Ok(ConsoleNext::Provider { url }) => super::go_to(&url),
                Ok(ConsoleNext::Instance { .. }) => {}
                Err(error) => fail(error),
            }
        })
    };
    let remove = move |_| {
        spawn_local(async move {
            match delete_instance(id).await {
                Ok(()) => items.update(|cards| cards.retain(|card| card.id != id)),
                Err(error) => fail(error),
            }
        })
    };

    view! {
        <li class="instance-card" class:highlighted=highlighted data-instance-id=id.0>
            {move || card().map(|card| {
                let (label, class) = health_badge(card.health);
                view! {
                    <div class="instance-head">
                        <h2 class="instance-name"><a href=format!("/instances/{}", card.id.0)>{card.name.clone()}</a></h2>
                        <span class=class data-testid="health">{label}</span>
                    </div>
                    <p class="instance-meta">
                        "#" {card.id.0} " · " {card.element_name.clone()} " (" <code>{card.element_key.clone()}</code> ")"
                        {card.events_enabled.then_some(" · events on")}
                    </p>
                    <ul class="chips instance-tags" aria-label="Tags">
                        {card.tags.iter().map(|tag| view! { <li class="chip">{tag.clone()}</li> }).collect_view()}
                    </ul>
                    <div class="instance-actions">
                        <button type="button" on:click=reveal>"View token"</button>
                        <button type="button" on:click=start_edit>"Edit"</button>
                        <button type="button" on:click=move |_| trying.update(|open| *open = !*open)>"Try it out"</button>
                        {card.oauth.then(|| view! { <button type="button" on:click=reauthenticate>"Re-authenticate"</button> })}
                        {if card.disabled {
                            view! { <button type="button" on:click=move |_| toggle(true)>"Enable"</button> }.into_any()
                        } else {
                            view! { <button type="button" on:click=move |_| toggle(false)>"Disable"</button> }.into_any()
                        }}
                        <button type="button" class="danger" on:click=move |_| confirming.set(true)>"Delete"</button>
                    </div>
                }
                .into_any()
            })}
            <Show when=move || token.get().is_some()>
                <p class="instance-token">
                    <code data-testid="instance-token">{move || token.get()}</code>
                    <button type="button" on:click=copy>"Copy"</button>
                    <span class="muted" aria-live="polite">{move || copied.get()}</span>
                </p>
            </Show>
            <Show when=move || editing.get()>
                <form class="instance-edit" on:submit=save>
                    <label>
                        "Name"
                        <input type="text" required prop:value=move || name.get() on:input=move |event| name.set(event_target_value(&event))/>
                    </label>
                    <TagInput tags label="Add a tag"/>
                    {move || events_form.get().map(|form| view! { <EventFields form values=events/> })}
                    <button type="submit">"Update"</button>
                    <button type="button" on:click=move |_| editing.set(false)>"Cancel"</button>
                </form>
            </Show>
            <Show when=move || trying.get()>
                {move || card().map(|card| view! { <TryItOut id quick_paths=card.quick_paths/> }.into_any())}
            </Show>
            <Show when=move || confirming.get()>
                <div class="confirm" role="alertdialog" aria-label="Confirm deletion">
                    <p>"Delete this instance? Its token stops working and its grant is revoked at the provider."</p>
                    <button type="button" class="danger" on:click=remove>"Delete instance"</button>
                    <button type="button" on:click=move |_| confirming.set(false)>"Cancel"</button>
                </div>
            </Show>
            <Show when=move || failure.get().is_some()>
                <p class="form-error" role="alert">{move || failure.get()}</p>
            </Show>
        </li>
    }
    .into_any()
}

/// Reads `Name: value` lines into header pairs; blank lines are skipped.
fn header_lines(text: &str) -> Result<Vec<(String, String)>, String> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            line.split_once(':')
                .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
                .ok_or_else(|| format!("`{line}` is not `Name: value`"))
        })
        .collect()
}

/// "Try it out": a request through the instance to its provider's API, and the answer.
#[component]
fn TryItOut(id: InstanceId, quick_paths: Vec<String>) -> impl IntoView {
    let method = RwSignal::new("GET".to_owned());
    let path = RwSignal::new(String::new());
    let query = RwSignal::new(String::new());
    let headers = RwSignal::new(String::new());
    let body = RwSignal::new(String::new());
    let answer = RwSignal::new(None::<Result<TryResponse, String>>);
    let sending = RwSignal::new(false);
    let send = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let headers = match header_lines(&headers.get_untracked()) {
            Ok(headers) => headers,
            Err(problem) => return answer.set(Some(Err(problem))),
        };
        let request = TryRequest {
            method: method.get_untracked(),
            path: path.get_untracked(),
            query: query.get_untracked(),
            headers,
            body: body.get_untracked(),
        };
        sending.set(true);
        spawn_local(async move {
            answer.set(Some(try_it_out(id, request).await.map_err(|error| error.to_string())));
            sending.set(false);
        });
    };
    view! {
        <form class="try-it-out" on:submit=send aria-label="Try it out">
            <div class="try-line">
                <select aria-label="Method" on:change=move |event| method.set(event_target_value(&event))>
                    {["GET", "POST", "PUT", "PATCH", "DELETE"].map(|verb| view! { <option value=verb>{verb}</option> }).collect_view()}
                </select>
                <input type="text" aria-label="Path" placeholder="contacts/42" prop:value=move || path.get() on:input=move |event| path.set(event_target_value(&event))/>
                <button type="submit" disabled=move || sending.get()>"Send"</button>
            </div>
            {(!quick_paths.is_empty()).then(|| view! {
                <div class="chips" role="group" aria-label="Objects">
                    {quick_paths.into_iter().map(|quick| {
                        let chosen = quick.clone();
                        view! { <button type="button" class="chip" on:click=move |_| path.set(chosen.clone())>{quick}</button> }
                    }).collect_view()}
                </div>
            })}
            <input type="text" aria-label="Query" placeholder="where=name%3D'Ada'&pageSize=5" on:input=move |event| query.set(event_target_value(&event))/>
            <textarea aria-label="Headers" placeholder="Accept: application/json" rows="2" on:input=move |event| headers.set(event_target_value(&event))></textarea>
            <textarea aria-label="JSON body" placeholder="{}" rows="3" on:input=move |event| body.set(event_target_value(&event))></textarea>
            {move || answer.get().map(|result| match result {
                Ok(response) => view! {
                    <div class="try-answer">
                        <p>
                            <strong data-testid="try-status">{response.status}</strong>
                            <span class="muted">" in " {format!("{:.0} ms", response.millis)}</span>
                        </p>
                        <details>
                            <summary>"Headers"</summary>
                            <ul>{response.headers.into_iter().map(|(name, value)| view! { <li><code>{name} ": " {value}</code></li> }).collect_view()}</ul>
                        </details>
                        <pre data-testid="try-body">{response.body}</pre>
                        {response.truncated.then(|| view! { <p class="muted">"The answer was longer; its start is shown."</p> })}
                    </div>
                }.into_any(),
                Err(problem) => view! { <p class="form-error" role="alert">{problem}</p> }.into_any(),
            })}
        </form>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::header_lines;

    #[test]
    fn header_lines_read_name_and_value() {
        assert_eq!(
            header_lines("Accept: application/json\n\nX-Trace:  1 ").unwrap(),
            [("Accept".to_owned(), "application/json".to_owned()), ("X-Trace".to_owned(), "1".to_owned())]
        );
        assert!(header_lines("no colon here").unwrap_err().contains("no colon here"));
    }
}
