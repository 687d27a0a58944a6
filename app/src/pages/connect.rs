//! The hosted connect page, for a team's end users, who have no console account: the elements a connect session
//! allows, with search, and an element's form; then what happened, in plain words. Every step is a link or a
//! form that posts, so the page works with JavaScript off, and hydrates into the same page when it is on. A
//! popup opened by `/connect.js` tells its opener the outcome (the script reads `#tether-connect-result`).

use crate::connect::{ConnectPageView, ConnectSessionState, connect_page_path};
use crate::pages::element::ParameterField;
use crate::server_fns::connect_page_view;
use leptos::prelude::*;
use leptos_meta::{Script, Title};
use leptos_router::hooks::{use_params_map, use_query_map};
use std::collections::BTreeMap;

/// The session's token and the popup's origin, from the page's URL.
fn token_and_origin() -> (String, Option<String>) {
    let token = use_params_map().with_untracked(|params| params.get("token").unwrap_or_default());
    let origin = use_query_map().with_untracked(|query| query.get("origin")).filter(|origin| !origin.is_empty());
    (token, origin)
}

/// `/connect/{token}`: the session's elements, or its outcome.
#[component]
pub fn ConnectPage() -> impl IntoView {
    let (token, origin) = token_and_origin();
    let search = use_query_map().with_untracked(|query| query.get("q").unwrap_or_default());
    let view = Resource::new(|| (), {
        let (token, origin) = (token.clone(), origin.clone());
        move |_| connect_page_view(token.clone(), None, origin.clone())
    });
    connect_frame(view, move |page| view! { <ConnectBody page token=token.clone() search=search.clone()/> }.into_any())
}

/// `/connect/{token}/{element}`: the form of an element connected by its parameters. An OAuth 2.0 element never
/// shows here: the server sends the browser to its provider instead.
#[component]
pub fn ConnectFormPage() -> impl IntoView {
    let (token, origin) = token_and_origin();
    let element = use_params_map().with_untracked(|params| params.get("element").unwrap_or_default());
    let view = Resource::new(|| (), {
        let (token, origin, element) = (token.clone(), origin.clone(), element.clone());
        move |_| connect_page_view(token.clone(), Some(element.clone()), origin.clone())
    });
    connect_frame(view, move |page| {
        let back = connect_page_path(&token, None, page.popup_origin.as_deref());
        match page.form.clone() {
            Some(form) if page.state == ConnectSessionState::Open => {
                let action = connect_page_path(&token, Some(&form.key), None);
                let values = RwSignal::new(BTreeMap::<String, String>::new());
                view! {
                                <h2>"Connect " {form.name.clone()}</h2>
                                <form method="post" action=action class="signin-form" data-testid="connect-form">
                                    {page.popup_origin.clone().map(|origin| view! { <input type="hidden" name="origin" value=origin/> })}
                                    {form.parameters.into_iter().map(|parameter| view! { <ParameterField parameter values/> }).collect_view()}
                                    <button type="submit">"Connect"</button>
                                </form>
                                <p><a href=back>"Choose another account"</a></p>
                            }
                            .into_any()
            }
            _ => view! {
                <ConnectBody page token=token.clone() search=String::new()/>
            }
            .into_any(),
        }
    })
}

/// The page around a connect step: the team's name, the outcome for `/connect.js`, and a clear page for a link
/// that is not valid.
fn connect_frame(
    view: Resource<Result<ConnectPageView, crate::error::HubError>>,
    body: impl Fn(ConnectPageView) -> AnyView + Send + Sync + 'static,
) -> impl IntoView {
    let children = std::sync::Arc::new(body);
    view! {
        <Script src="/connect.js" defer="defer"/>
        <main class="connect">
            <div class="connect-card">
                <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                    {
                        let children = children.clone();
                        move || {
                            let children = children.clone();
                            Suspend::new(async move {
                                match view.await {
                                    Ok(page) => view! {
                                        <Title text=format!("Connect an account · {}", page.team)/>
                                        <p class="connect-team" data-testid="connect-team">{page.team.clone()}</p>
                                        {outcome_for_opener(&page)}
                                        {children(page)}
                                    }
                                    .into_any(),
                                    Err(error) => view! {
                                        <Title text="Connect an account"/>
                                        <h1>"This link does not work"</h1>
                                        <p class="form-error" role="alert" data-testid="connect-error">{error.to_string()}</p>
                                    }
                                    .into_any(),
                                }
                            })
                        }
                    }
                </Suspense>
            </div>
        </main>
    }
}

/// The outcome, for `/connect.js` to post to the popup's opener; only when the page is such a popup.
fn outcome_for_opener(page: &ConnectPageView) -> Option<impl IntoView + use<>> {
    let origin = page.popup_origin.clone()?;
    let (status, reason, message) = match (&page.connected, &page.failure) {
        (Some(_), _) => ("connected", String::new(), String::new()),
        (None, Some(failure)) => ("failed", failure.reason.clone(), failure.message.clone()),
        (None, None) => return None,
    };
    let connected = page.connected.clone();
    Some(view! {
        <div
            id="tether-connect-result"
            hidden
            data-origin=origin
            data-status=status
            data-reason=reason
            data-message=message
            data-instance-id=connected.as_ref().map(|connected| connected.instance_id.to_string())
            data-element=connected.map(|connected| connected.element)
            data-end-user-id=page.end_user_id.clone()
        ></div>
    })
}

/// The session's page body: connected, closed, or its elements with search.
#[component]
fn ConnectBody(page: ConnectPageView, token: String, search: String) -> impl IntoView {
    let back = page.return_url.clone().map(|url| {
        view! { <p><a href=url data-testid="connect-return">"Back to " {page.team.clone()}</a></p> }
    });
    if let Some(connected) = page.connected.clone() {
        return view! {
            <h1 data-testid="connect-done">"Connected to " {connected.element_name}</h1>
            <p>"Your account is connected. You can close this window."</p>
            {back}
        }
        .into_any();
    }
    let failure = page.failure.clone().map(|failure| {
        view! { <p class="form-error" role="alert" data-testid="connect-error" data-reason=failure.reason>{failure.message}</p> }
    });
    if page.state != ConnectSessionState::Open {
        return view! { <h1>"This link can no longer be used"</h1> {failure} {back} }.into_any();
    }
    let heading = match &page.reconnecting {
        Some(name) => format!("Reconnect {name}"),
        None => "Connect an account".to_owned(),
    };
    let query = RwSignal::new(search.clone());
    let popup_origin = page.popup_origin.clone();
    let choices = page.choices.clone();
    let retry = failure.is_some().then(|| view! { <p class="muted">"Choose an account below to try again."</p> });
    view! {
        <h1>{heading}</h1>
        {failure}
        {retry}
        <form method="get" role="search" class="connect-search">
            {popup_origin.clone().map(|origin| view! { <input type="hidden" name="origin" value=origin/> })}
            <label>
                "Search"
                <input
                    type="search"
                    name="q"
                    value=search
                    placeholder="Find an app"
                    on:input=move |event| query.set(event_target_value(&event))
                />
            </label>
            <noscript><button type="submit">"Search"</button></noscript>
        </form>
        <ul class="connect-choices" data-testid="connect-choices">
            {move || {
                let term = query.get().trim().to_lowercase();
                choices
                    .iter()
                    .filter(|choice| term.is_empty() || choice.name.to_lowercase().contains(&term) || choice.key.contains(&term))
                    .map(|choice| {
                        let href = connect_page_path(&token, Some(&choice.key), popup_origin.as_deref());
                        // `external`: the server answers the link (a 303 to the provider), not the page's router.
                        view! { <li><a href=href rel="external" data-element=choice.key.clone()>{choice.name.clone()}</a></li> }
                    })
                    .collect_view()
            }}
        </ul>
        {back}
    }
    .into_any()
}
