//! The Account page's lifecycle webhooks: the organization's endpoints, a form to add one, a test delivery, and
//! each endpoint's recent deliveries with the answers they got and a Redeliver button.

use super::when;
use crate::server_fns::{
    AddWebhook, list_webhook_deliveries, list_webhooks, redeliver_webhook, remove_webhook, send_test_webhook,
};
use crate::webhooks::{LIFECYCLE_EVENTS, WebhookEndpoint};
use leptos::prelude::*;
use leptos::task::spawn_local;

#[component]
pub fn WebhookEndpoints() -> impl IntoView {
    let add = ServerAction::<AddWebhook>::new();
    let changes = RwSignal::new(0u32);
    let endpoints = Resource::new(move || (add.version().get(), changes.get()), |_| list_webhooks());
    let problem = RwSignal::new(None::<String>);
    view! {
        <section class="webhooks" aria-label="Lifecycle webhooks">
            <h2>"Lifecycle webhooks"</h2>
            <p class="muted">
                "Your app hears here when a connection is made, breaks or heals, signed with your key like event deliveries."
            </p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let endpoints = endpoints.await?;
                    Ok::<_, crate::error::HubError>(if endpoints.is_empty() {
                        view! { <p class="muted" data-testid="no-webhooks">"No endpoints yet."</p> }.into_any()
                    } else {
                        endpoints
                            .into_iter()
                            .map(|endpoint| view! { <EndpointCard endpoint changes problem/> })
                            .collect_view()
                            .into_any()
                    })
                })}
            </Suspense>
            {move || problem.get().map(|text| view! { <p class="form-error" role="alert">{text}</p> })}
            <ActionForm action=add attr:class="stacked-form">
                <label>"Endpoint URL" <input type="url" name="url" required placeholder="https://app.example/hooks/tether"/></label>
                <label>
                    "Signature key"
                    <input type="password" name="signature_key" required minlength="16" autocomplete="off"/>
                </label>
                <label>
                    "Events (empty for every one)"
                    <input type="text" name="events" placeholder=LIFECYCLE_EVENTS.join(", ")/>
                </label>
                <button type="submit">"Add endpoint"</button>
            </ActionForm>
            {move || add.value().get().and_then(Result::err).map(|error| {
                view! { <p class="form-error" role="alert">{error.to_string()}</p> }
            })}
        </section>
    }
}

/// One endpoint: what it takes, Send test, Remove, and, once asked for, its deliveries. The deliveries load only
/// then, in the browser, so the page renders the same on the server and after hydration.
#[component]
fn EndpointCard(endpoint: WebhookEndpoint, changes: RwSignal<u32>, problem: RwSignal<Option<String>>) -> impl IntoView {
    let id = endpoint.id.clone();
    let reloads = RwSignal::new(0u32);
    let shown = RwSignal::new(false);
    let run = move |work: Work, after: RwSignal<u32>| {
        spawn_local(async move {
            match work.await {
                Ok(()) => {
                    problem.set(None);
                    after.update(|count| *count += 1);
                }
                Err(error) => problem.set(Some(error.to_string())),
            }
        });
    };
    let test = {
        let id = id.clone();
        move |_| {
            let id = id.clone();
            shown.set(true);
            run(Box::pin(async move { send_test_webhook(id).await.map(|_| ()) }), reloads)
        }
    };
    let remove = {
        let id = id.clone();
        move |_| run(Box::pin(remove_webhook(id.clone())), changes)
    };
    let show = move |_| {
        shown.set(true);
        reloads.update(|count| *count += 1);
    };
    let takes = if endpoint.events.is_empty() { "every event".to_owned() } else { endpoint.events.join(", ") };
    view! {
        <article class="webhook-endpoint" data-testid="webhook-endpoint" data-endpoint-id=endpoint.id.clone()>
            <p><code>{endpoint.url.clone()}</code> " · " <span class="muted">{takes}</span></p>
            <p class="actions">
                <button type="button" on:click=test>"Send test"</button>
                " "
                <button type="button" on:click=show>"Show deliveries"</button>
                " "
                <button type="button" class="secondary" on:click=remove>"Remove"</button>
            </p>
            <Show when=move || shown.get()>
                <EndpointDeliveries id=id.clone() reloads run/>
            </Show>
        </article>
    }
}

/// Work a button starts: a server function call whose answer only matters when it fails.
type Work = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), crate::error::HubError>>>>;

/// An endpoint's newest deliveries, with the answer each got and Redeliver.
#[component]
fn EndpointDeliveries(
    id: String,
    reloads: RwSignal<u32>,
    run: impl Fn(Work, RwSignal<u32>) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let deliveries = Resource::new(move || reloads.get(), {
        let id = id.clone();
        move |_| list_webhook_deliveries(id.clone())
    });
    view! {
        <Suspense fallback=|| view! { <p>"Loading deliveries…"</p> }>
            {move || {
                let id = id.clone();
                Suspend::new(async move {
                    let deliveries = deliveries.await?;
                    Ok::<_, crate::error::HubError>(view! {
                        <table class="table" data-testid="webhook-deliveries">
                            <thead><tr><th>"When"</th><th>"Event"</th><th>"Status"</th><th>"Answer"</th><th></th></tr></thead>
                            <tbody>
                                {deliveries.into_iter().map(|delivery| {
                                    let (id, delivery_id) = (id.clone(), delivery.id.clone());
                                    let again = move |_| {
                                        let (id, delivery_id) = (id.clone(), delivery_id.clone());
                                        run(Box::pin(redeliver_webhook(id, delivery_id)), reloads)
                                    };
                                    let answer = match (delivery.last_response_code, delivery.last_error) {
                                        (Some(code), _) => code.to_string(),
                                        (None, Some(error)) => error,
                                        (None, None) => "–".to_owned(),
                                    };
                                    view! {
                                        <tr data-testid="webhook-delivery" data-status=format!("{:?}", delivery.status)>
                                            <td>{when(&delivery.created_at)}</td>
                                            <td>{delivery.event_type}</td>
                                            <td>{format!("{:?}", delivery.status)} " · " {delivery.attempts} " attempt(s)"</td>
                                            <td>{answer}</td>
                                            <td><button type="button" on:click=again>"Redeliver"</button></td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    })
                })
            }}
        </Suspense>
    }
}
