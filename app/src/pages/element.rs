//! An element's page: what it connects to, how it authenticates, the parameters an instance needs, its events.

use super::event_fields::EventFields;
use super::tags::TagInput;
use crate::catalog::{AuthType, Element, EventMode, ParameterDefinition, ParameterType};
use crate::instances::credential_keys::{CLIENT_ID, CLIENT_SECRET};
use crate::instances::{ConsoleAuthentication, ConsoleNext};
use crate::server_fns::{begin_authentication, console_callback_url, element_details, event_form, saved_oauth_app};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_params_map};
use std::collections::BTreeMap;

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
    let element_for_form = element.clone();
    let definition = element.definition;
    let oauth = definition.oauth.clone();
    let parameters = definition.parameters.clone();
    let objects = definition.objects.clone();
    view! {
        <header class="element-header">
            <span class="element-logo element-logo-large" aria-hidden="true">{definition.initials()}</span>
            <div>
                <super::PageTitle title=definition.name.clone()/>
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
        <AuthenticateSection element=element_for_form/>
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
        {oauth.filter(|_| matches!(definition.auth, AuthType::OAuth2 | AuthType::OAuth1)).map(|oauth| view! {
            <h2>{definition.auth.label()}</h2>
            <dl class="facts">
                {oauth.request_token_url.map(|url| view! {
                    <dt>"Request token URL"</dt>
                    <dd><code>{url.alternatives().join(" | ")}</code></dd>
                })}
                <dt>"Authorization URL"</dt>
                <dd><code>{oauth.authorization_url.map(|url| url.alternatives().join(" | ")).unwrap_or_default()}</code></dd>
                <dt>"Token URL"</dt>
                <dd><code>{oauth.token_url.alternatives().join(" | ")}</code></dd>
                <dt>"Default scopes"</dt>
                <dd>{if oauth.scopes.is_empty() { "none".to_owned() } else { oauth.scopes.join(" ") }}</dd>
                {(definition.auth == AuthType::OAuth2).then(|| view! {
                    <dt>"PKCE"</dt>
                    <dd>{if oauth.pkce { "supported" } else { "not supported" }}</dd>
                })}
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

/// The "Authenticate" button, and the form it opens.
#[component]
fn AuthenticateSection(element: Element) -> impl IntoView {
    let open = RwSignal::new(false);
    let supported = matches!(element.definition.auth, AuthType::Basic | AuthType::ApiKey | AuthType::Custom)
        || element.definition.oauth.is_some();
    if !supported {
        return view! {
            <p class="authenticate muted">"Tether cannot authenticate " {element.definition.auth.label()} " elements yet."</p>
        }
        .into_any();
    }
    view! {
        <section class="authenticate">
            <Show
                when=move || open.get()
                fallback=move || view! { <button type="button" on:click=move |_| open.set(true)>"Authenticate"</button> }
            >
                {view! { <AuthenticateForm element=element.clone()/> }.into_any()}
            </Show>
        </section>
    }
    .into_any()
}

fn input_type(kind: ParameterType) -> &'static str {
    match kind {
        ParameterType::Password => "password",
        ParameterType::Url => "url",
        ParameterType::Number => "number",
        _ => "text",
    }
}

/// One parameter's input, writing into `values` under its key.
#[component]
pub(crate) fn ParameterField(
    parameter: ParameterDefinition,
    values: RwSignal<BTreeMap<String, String>>,
) -> impl IntoView {
    let key = parameter.key.clone();
    let set = move |value: String| {
        let key = key.clone();
        values.update(move |values| {
            values.insert(key, value);
        })
    };
    let choices: Vec<String> = match parameter.kind {
        ParameterType::Boolean => vec!["true".into(), "false".into()],
        ParameterType::Choice => parameter.options.clone(),
        _ => Vec::new(),
    };
    let input = if choices.is_empty() {
        view! {
            <input
                type=input_type(parameter.kind)
                name=parameter.key.clone()
                required=parameter.required
                placeholder=parameter.default.clone().unwrap_or_default()
                autocomplete="off"
                on:input=move |event| set(event_target_value(&event))
            />
        }
        .into_any()
    } else {
        view! {
            <select name=parameter.key.clone() required=parameter.required on:change=move |event| set(event_target_value(&event))>
                <option value="">"Choose…"</option>
                {choices.into_iter().map(|choice| view! { <option value=choice.clone()>{choice.clone()}</option> }).collect_view()}
            </select>
        }
        .into_any()
    };
    view! {
        <label>
            {parameter.label.clone()}
            {parameter.prefix.clone().map(|prefix| view! { <span class="muted">" (" {prefix} "…)"</span> })}
            {input}
            {parameter.description.clone().map(|text| view! { <small class="muted">{text}</small> })}
        </label>
    }
}

/// The authenticate form, generated from the element's parameters.
#[component]
fn AuthenticateForm(element: Element) -> impl IntoView {
    let definition = element.definition.clone();
    // OAuth 1.0a calls its client a consumer, with the same two values.
    let oauth = matches!(definition.auth, AuthType::OAuth2 | AuthType::OAuth1);
    let (id_label, secret_label) = if definition.auth == AuthType::OAuth1 {
        ("Consumer key", "Consumer secret")
    } else {
        ("Client id", "Client secret")
    };
    let client_credentials = definition.auth == AuthType::ClientCredentials;
    let name = RwSignal::new(String::new());
    let tags = RwSignal::new(Vec::<String>::new());
    let values = RwSignal::new(BTreeMap::<String, String>::new());
    // The form opens at its first field, where the button that opened it was.
    let name_input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = name_input.get() {
            let _ = input.focus();
        }
    });
    let save_app = RwSignal::new(false);
    let failure = RwSignal::new(None::<String>);
    let pending = RwSignal::new(false);
    let saved = Resource::new(|| (), {
        let key = definition.key.clone();
        move |_| saved_oauth_app(key.clone())
    });
    let callback = Resource::new(|| (), |_| console_callback_url());
    let has_events = definition.events.support != EventMode::None;
    let event_form = Resource::new(|| (), {
        let key = definition.key.clone();
        move |_| event_form(key.clone(), None)
    });
    let (required, optional): (Vec<_>, Vec<_>) = definition.parameters.iter().cloned().partition(|p| p.required);
    let navigate = use_navigate();
    let element_key = definition.key.clone();

    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        pending.set(true);
        failure.set(None);
        let form = ConsoleAuthentication {
            element: element_key.clone(),
            instance: None,
            name: name.get_untracked(),
            tags: tags.get_untracked(),
            configuration: values.get_untracked(),
            save_oauth_app: save_app.get_untracked(),
        };
        let navigate = navigate.clone();
        spawn_local(async move {
            match begin_authentication(form).await {
                Ok(ConsoleNext::Provider { url }) => super::go_to(&url),
                Ok(ConsoleNext::Instance { id }) => navigate(&format!("/instances?instance={id}"), Default::default()),
                Err(error) => {
                    failure.set(Some(error.explained()));
                    pending.set(false);
                }
            }
        });
    };
    let set_value = move |key: &'static str| {
        move |event: leptos::ev::Event| {
            let value = event_target_value(&event);
            values.update(|values| {
                values.insert(key.to_owned(), value);
            })
        }
    };

    view! {
        <form class="authenticate-form" on:submit=submit>
            <h2>"Authenticate an instance"</h2>
            <label>
                "Name"
                <input type="text" name="name" required autocomplete="off" node_ref=name_input on:input=move |event| name.set(event_target_value(&event))/>
            </label>
            {required.into_iter().map(|parameter| view! { <ParameterField parameter values/> }.into_any()).collect_view()}
            {(!optional.is_empty() || has_events).then(|| view! {
                <details class="optional-fields">
                    <summary>"Show optional fields"</summary>
                    {optional.into_iter().map(|parameter| view! { <ParameterField parameter values/> }).collect_view()}
                    <Suspense fallback=|| ()>
                        {move || event_form.get().and_then(Result::ok).map(|form| view! { <EventFields form values/> })}
                    </Suspense>
                </details>
            }.into_any())}
            <TagInput tags label="Add a tag"/>
            {oauth.then(|| view! {
                <fieldset class="oauth-app">
                    <legend>"OAuth app"</legend>
                    <Suspense fallback=|| ()>
                        {move || saved.get().and_then(Result::ok).flatten().map(|app| view! {
                            <p class="muted" data-testid="saved-oauth-app">
                                "The organization's saved app (" <code>{app.api_key}</code> ") is used when these are left empty."
                            </p>
                        })}
                    </Suspense>
                    <label>{id_label} <input type="text" name=CLIENT_ID autocomplete="off" on:input=set_value(CLIENT_ID)/></label>
                    <label>{secret_label} <input type="password" name=CLIENT_SECRET autocomplete="off" on:input=set_value(CLIENT_SECRET)/></label>
                    <label class="checkbox">
                        <input type="checkbox" name="save-oauth-app" on:change=move |event| save_app.set(event_target_checked(&event))/>
                        "Save as the organization's OAuth app for this element"
                    </label>
                    <p class="muted">
                        "Register this callback URL with the provider: "
                        <Suspense fallback=|| ()>
                            <code data-testid="callback-url">{move || callback.get().and_then(Result::ok)}</code>
                        </Suspense>
                    </p>
                </fieldset>
            }.into_any())}
            {client_credentials.then(|| view! {
                <fieldset class="oauth-app">
                    <legend>"Client credentials"</legend>
                    <p class="muted">"Tether gets the access tokens with these, and renews them before they expire."</p>
                    <label>"Client id" <input type="text" name=CLIENT_ID required autocomplete="off" on:input=set_value(CLIENT_ID)/></label>
                    <label>"Client secret" <input type="password" name=CLIENT_SECRET required autocomplete="off" on:input=set_value(CLIENT_SECRET)/></label>
                </fieldset>
            }.into_any())}
            <button type="submit" disabled=move || pending.get()>
                {if oauth { "Continue to the provider" } else { "Authenticate" }}
            </button>
            <Show when=move || failure.get().is_some()>
                <p class="form-error" role="alert">{move || failure.get()}</p>
            </Show>
        </form>
    }
    .into_any()
}
