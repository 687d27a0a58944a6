//! An element's page: what it connects to, how it authenticates, the parameters an instance needs, its events.

use crate::catalog::{AuthType, Element, ParameterType};
use crate::server_fns::element_details;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

#[component]
pub fn ElementPage() -> impl IntoView {
    let params = use_params_map();
    let element = Resource::new(move || params.read().get("key").unwrap_or_default(), element_details);
    view! {
        <p class="breadcrumb"><a href="/catalog">"← Catalog"</a></p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            <ErrorBoundary fallback=|errors| view! { <p class="form-error">{move || super::error_text(&errors.get())}</p> }>
                {move || Suspend::new(async move {
                    let element = element.await?;
                    Ok::<_, crate::error::HubError>(view! { <ElementDetails element/> })
                })}
            </ErrorBoundary>
        </Suspense>
    }
}

fn parameter_type(kind: ParameterType) -> &'static str {
    match kind {
        ParameterType::Text => "text",
        ParameterType::Password => "password",
        ParameterType::Url => "URL",
        ParameterType::Number => "number",
        ParameterType::Boolean => "yes / no",
        ParameterType::Choice => "choice",
    }
}

#[component]
fn ElementDetails(element: Element) -> impl IntoView {
    let definition = element.definition;
    let oauth = definition.oauth.clone();
    let parameters = definition.parameters.clone();
    let objects = definition.objects.clone();
    view! {
        <header class="element-header">
            <span class="element-logo element-logo-large" aria-hidden="true">{definition.initials()}</span>
            <div>
                <h1>{definition.name.clone()}</h1>
                <p class="page-summary">{definition.description.clone()}</p>
            </div>
        </header>
        <dl class="facts">
            <dt>"Key"</dt>
            <dd><code>{definition.key.clone()}</code></dd>
            <dt>"Hub"</dt>
            <dd>{definition.hub.clone()}</dd>
            <dt>"Authentication"</dt>
            <dd>{definition.auth.label()}</dd>
            <dt>"Events"</dt>
            <dd>{definition.events.support.label()}</dd>
            {(!definition.aliases.is_empty()).then(|| view! {
                <dt>"Also known as"</dt>
                <dd>{definition.aliases.join(", ")}</dd>
            })}
        </dl>
        <p class="authenticate">
            <button type="button" disabled=true aria-describedby="authenticate-note">"Authenticate"</button>
            <span id="authenticate-note" class="muted">" Authenticating instances from the console is not available yet."</span>
        </p>
        <h2 id="parameters-heading">"Parameters"</h2>
        {if parameters.is_empty() {
            view! { <p class="muted">"An instance needs no parameters beyond its authentication."</p> }.into_any()
        } else {
            view! {
                <table class="table" aria-labelledby="parameters-heading">
                    <thead><tr><th>"Label"</th><th>"Key"</th><th>"Type"</th><th>"Required"</th><th>"Secret"</th></tr></thead>
                    <tbody>
                        {parameters.into_iter().map(|parameter| view! {
                            <tr>
                                <td>{parameter.label}</td>
                                <td><code>{parameter.key}</code></td>
                                <td>{parameter_type(parameter.kind)}</td>
                                <td>{if parameter.required { "required" } else { "optional" }}</td>
                                <td>{if parameter.secret { "encrypted" } else { "" }}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
        {oauth.filter(|_| definition.auth == AuthType::OAuth2).map(|oauth| view! {
            <h2>"OAuth 2.0"</h2>
            <dl class="facts">
                <dt>"Authorization URL"</dt>
                <dd><code>{oauth.authorization_url.alternatives().join(" | ")}</code></dd>
                <dt>"Token URL"</dt>
                <dd><code>{oauth.token_url.alternatives().join(" | ")}</code></dd>
                <dt>"Default scopes"</dt>
                <dd>{if oauth.scopes.is_empty() { "none".to_owned() } else { oauth.scopes.join(" ") }}</dd>
                <dt>"PKCE"</dt>
                <dd>{if oauth.pkce { "supported" } else { "not supported" }}</dd>
            </dl>
        })}
        {(!objects.is_empty()).then(|| view! {
            <h2>"Objects"</h2>
            <ul class="objects">
                {objects.into_iter().map(|object| view! { <li><code>{object.name}</code> " (" {object.vendor_name} ")"</li> }).collect_view()}
            </ul>
        })}
    }
}
