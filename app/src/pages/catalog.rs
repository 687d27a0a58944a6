//! The catalog page: every element the user can connect, searched and filtered in the browser as they type.

use super::PageHeader;
use crate::catalog::{AuthType, ElementCard};
use crate::search::{IndexedCard, rank};
use crate::server_fns::element_cards;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use std::collections::BTreeSet;
use std::sync::Arc;

/// The most cards drawn at once; the count above the grid tells how many match in all.
const SHOWN_AT_MOST: usize = 120;

#[component]
pub fn CatalogPage() -> impl IntoView {
    let cards = Resource::new(|| (), |_| element_cards());
    view! {
        <PageHeader title="Catalog" summary="Elements: the providers your users can connect."/>
        <Suspense fallback=|| view! { <p>"Loading the catalog…"</p> }>
            <ErrorBoundary fallback=|errors| view! { <p class="form-error">{move || super::error_text(&errors.get())}</p> }>
                {move || Suspend::new(async move {
                    let cards = cards.await?;
                    let first_run = cards.iter().all(|card| card.instances == 0);
                    let sandbox = cards.iter().any(|card| card.key == SANDBOX_KEY);
                    let index: Arc<Vec<IndexedCard>> = Arc::new(cards.into_iter().map(IndexedCard::new).collect());
                    Ok::<_, crate::error::HubError>(view! {
                        {first_run.then(|| view! { <FirstRun sandbox/> })}
                        <CatalogBrowser index/>
                    })
                })}
            </ErrorBoundary>
        </Suspense>
    }
}

/// The key of Tether Sandbox, the built-in practice provider, when the node runs it.
const SANDBOX_KEY: &str = "sandbox";

/// Shown while the organization has no instance: where to start.
#[component]
fn FirstRun(sandbox: bool) -> impl IntoView {
    view! {
        <aside class="first-run" aria-labelledby="first-run-heading" data-testid="first-run">
            <h2 id="first-run-heading">"New here? Connect your first account in five minutes"</h2>
            {if sandbox {
                view! {
                    <ol>
                        <li>"Open " <a href="/sandbox" rel="external">"the sandbox's control page"</a> ": a practice provider with its own sign-in, API and outages, running inside Tether."</li>
                        <li><a href="/catalog/sandbox">"Authenticate Tether Sandbox"</a> " with the client id and secret the control page shows."</li>
                        <li>"Call its API with " <strong>"Try it out"</strong> ", then break it on the control page and watch the instance's page tell the story."</li>
                    </ol>
                }
                .into_any()
            } else {
                view! {
                    <p>"Choose an element below and authenticate it with your account at that provider. The README's five-minute tour walks through every step with Tether Sandbox (" <code>"make run"</code> " turns it on)."</p>
                }
                .into_any()
            }}
        </aside>
    }
}

/// The search box, the filter chips and the grid over one loaded catalog.
#[component]
fn CatalogBrowser(index: Arc<Vec<IndexedCard>>) -> impl IntoView {
    let term = RwSignal::new(String::new());
    super::keep_text_typed_before_hydration(".catalog-search", term);
    let hub = RwSignal::new(None::<String>);
    let auth = RwSignal::new(None::<AuthType>);
    let hubs: Vec<String> =
        index.iter().map(|item| item.card.hub.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let auths: Vec<AuthType> =
        AuthType::ALL.into_iter().filter(|kind| index.iter().any(|item| item.card.auth == *kind)).collect();

    let matches = {
        let index = index.clone();
        Memo::new(move |_| {
            rank(index.iter(), &term.read(), hub.read().as_deref(), auth.get())
                .into_iter()
                .map(|item| item.card.clone())
                .collect::<Vec<_>>()
        })
    };
    let navigate = use_navigate();
    let open_first = move |event: leptos::ev::KeyboardEvent| {
        if event.key() == "Enter"
            && let Some(first) = matches.read().first()
        {
            navigate(&format!("/catalog/{}", first.key), Default::default());
        }
    };
    let count = move || match matches.read().len() {
        1 => "1 element".to_owned(),
        many => format!("{many} elements"),
    };

    view! {
        <div class="catalog-controls">
            <input
                type="search"
                class="catalog-search"
                placeholder="Search by name, key, hub or description"
                aria-label="Search elements"
                autocomplete="off"
                prop:value=move || term.get()
                on:input=move |event| term.set(event_target_value(&event))
                on:keydown=open_first
            />
            <div class="chips" role="group" aria-label="Hub">
                {hubs.into_iter().map(|name| {
                    let value = name.clone();
                    let pressed = move || hub.read().as_deref() == Some(value.as_str());
                    let chosen = name.clone();
                    view! {
                        <button
                            type="button"
                            class="chip"
                            aria-pressed=move || pressed().to_string()
                            on:click=move |_| hub.update(|current| {
                                *current = if current.as_deref() == Some(chosen.as_str()) { None } else { Some(chosen.clone()) }
                            })
                        >{name}</button>
                    }
                }).collect_view()}
            </div>
            <div class="chips" role="group" aria-label="Authentication">
                {auths.into_iter().map(|kind| view! {
                    <button
                        type="button"
                        class="chip"
                        aria-pressed=move || (auth.get() == Some(kind)).to_string()
                        on:click=move |_| auth.update(|current| *current = if *current == Some(kind) { None } else { Some(kind) })
                    >{kind.label()}</button>
                }).collect_view()}
            </div>
        </div>
        <p class="catalog-count" data-testid="catalog-count" aria-live="polite">{count}</p>
        <ul class="element-grid">
            <For
                each=move || visible_cards(&matches.read())
                key=|card: &ElementCard| card.id
                children=|card: ElementCard| view! { <Card card/> }
            />
        </ul>
        <Show when=move || matches.read().len().gt(&SHOWN_AT_MOST)>
            <p class="catalog-more">"Showing the first " {SHOWN_AT_MOST} "; refine the search to see the rest."</p>
        </Show>
    }
}

fn visible_cards(matches: &[ElementCard]) -> Vec<ElementCard> {
    matches.iter().take(SHOWN_AT_MOST).cloned().collect()
}

/// One element in the grid: a link to its page.
#[component]
fn Card(card: ElementCard) -> impl IntoView {
    let logo = match card.image {
        Some(image) => view! { <img src=image alt=""/> }.into_any(),
        None => card.initials.into_any(),
    };
    view! {
        <li class="element-card">
            <a href=format!("/catalog/{}", card.key)>
                <span class="element-logo" aria-hidden="true">{logo}</span>
                <span class="element-name">{card.name}</span>
                <span class="element-meta">{card.hub} " · " {card.auth.label()}</span>
                {card.private.then(|| view! { <span class="badge">"Custom"</span> })}
                {(card.instances > 0).then(|| view! {
                    <span class="instances-banner" data-testid="instance-count">
                        {if card.instances == 1 { "1 instance".to_owned() } else { format!("{} instances", card.instances) }}
                    </span>
                })}
            </a>
        </li>
    }
}
