//! The sandbox's control page at `/sandbox`: its OAuth app, grants to revoke, a token-endpoint outage to stage,
//! and contacts to create or change, so the failure policy and events can be watched from the console.

use super::page::{STYLE, escape};
use super::state::Sandbox;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Whether a form post comes from the sandbox's own page: without an `Origin`, or with one naming this host.
fn same_origin(headers: &HeaderMap) -> bool {
    let origin = headers.get(header::ORIGIN).and_then(|value| value.to_str().ok());
    let host = headers.get(header::HOST).and_then(|value| value.to_str().ok());
    match (origin, host) {
        (None, _) => true,
        (Some(origin), Some(host)) => url::Url::parse(origin).is_ok_and(|url| url_authority(&url) == host),
        _ => false,
    }
}

fn cross_site() -> Response {
    (StatusCode::FORBIDDEN, "The sandbox's controls take posts from its own page only.").into_response()
}

fn url_authority(url: &url::Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => String::new(),
    }
}

fn back(message: &str) -> Response {
    let query = serde_urlencoded::to_string([("done", message)]).unwrap_or_default();
    Redirect::to(&format!("{}?{query}", super::state::BASE_PATH)).into_response()
}

pub async fn page(State(sandbox): State<Arc<Sandbox>>, Query(query): Query<HashMap<String, String>>) -> Html<String> {
    let base = &sandbox.settings.base_url;
    let now = Utc::now();
    let data = sandbox.data.lock().expect("sandbox state");
    let live_grants = data.grants.values().filter(|grant| !grant.revoked).count();
    let outage = match data.outage_active(now) {
        Some(until) => format!(
            r#"<p data-testid="outage">The token endpoint answers <strong>503</strong> until {} UTC.</p>"#,
            until.format("%H:%M:%S")
        ),
        None => r#"<p data-testid="outage">The token endpoint answers normally.</p>"#.to_owned(),
    };
    let contacts: String = data
        .list("contacts", None)
        .iter()
        .map(|contact| {
            let text = |field: &str| escape(contact[field].as_str().unwrap_or_default());
            format!(
                r#"<tr><td>{id}</td><td colspan="2"><form class="inline" method="post" action="{path}/control/contacts" aria-label="Contact {id}">
<input type="hidden" name="id" value="{id}"><input name="name" aria-label="Name" value="{name}"><input name="email" aria-label="Email" value="{email}">
<button>Save</button></form></td><td>{updated}</td></tr>"#,
                id = text("id"),
                path = super::state::BASE_PATH,
                name = text("name"),
                email = text("email"),
                updated = escape(contact["_info"]["lastUpdated"].as_str().unwrap_or_default()),
            )
        })
        .collect();
    let subscriptions: String = data
        .subscriptions
        .iter()
        .map(|subscription| format!("<li><code>{}</code></li>", escape(&subscription.url)))
        .collect();
    let subscriptions =
        if subscriptions.is_empty() { "<li class=\"muted\">None yet.</li>".to_owned() } else { subscriptions };
    let redirects: String = sandbox
        .settings
        .redirect_uris
        .iter()
        .map(|uri| format!("<li><code>{}</code></li>", escape(uri.as_str())))
        .collect();
    let notice = query
        .get("done")
        .map(|message| format!(r#"<section class="card notice" role="status">{}</section>"#, escape(message)))
        .unwrap_or_default();
    let inbox: String = sandbox
        .inbox
        .lock()
        .expect("sandbox inbox")
        .iter()
        .map(|delivered| {
            format!(
                r#"<tr data-testid="delivery"><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>"#,
                delivered.at.format("%H:%M:%S"),
                escape(&delivered.event_id),
                escape(&delivered.summary),
                if delivered.signed { "signed" } else { "unsigned" },
            )
        })
        .collect();
    let path = super::state::BASE_PATH;
    Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tether Sandbox</title><style>{style}</style></head>
<body>
<section class="card"><h1>Tether Sandbox</h1>
<p>A small CRM with its own OAuth 2.0 server, for trying Tether without a real provider. Connect it from the
console's catalog (the <strong>Tether Sandbox</strong> element) with this app:</p>
<table>
<tr><th>Client id</th><td><code data-testid="client-id">{client_id}</code></td></tr>
<tr><th>Client secret</th><td><code data-testid="client-secret">{client_secret}</code></td></tr>
<tr><th>Authorization URL</th><td><code>{base}/oauth/authorize</code></td></tr>
<tr><th>Token URL</th><td><code>{base}/oauth/token</code></td></tr>
<tr><th>Revocation URL</th><td><code>{base}/oauth/revoke</code></td></tr>
<tr><th>API</th><td><code>{base}/api/v1</code> (contacts, companies, webhooks, me)</td></tr>
<tr><th>Access tokens live</th><td>{lifetime} seconds</td></tr>
</table>
<p class="muted">Redirect URIs it accepts:</p><ul>{redirects}</ul></section>
{notice}
<section class="card"><h2>Grants</h2>
<p data-testid="grants">{live_grants} live grant(s).</p>
<form method="post" action="{path}/control/revoke"><button>Revoke all grants</button></form></section>
<section class="card"><h2>Token endpoint</h2>{outage}
<form class="inline" method="post" action="{path}/control/outage">
<label>Fail with 503 for <input name="minutes" type="number" min="0" max="1440" value="5" aria-label="Minutes"> minutes</label>
<button>Start the outage</button></form>
<form method="post" action="{path}/control/outage"><input type="hidden" name="minutes" value="0"><button class="secondary">End the outage</button></form></section>
<section class="card"><h2>Contacts</h2>
<table><tr><th>Id</th><th>Name</th><th>Email</th><th>Last updated</th></tr>{contacts}</table>
<h3>Create a contact</h3>
<form class="inline" method="post" action="{path}/control/contacts" aria-label="New contact">
<input name="name" aria-label="Name" placeholder="Ada Lovelace" required><input name="email" aria-label="Email" placeholder="ada@example.com">
<button>Create</button></form></section>
<section class="card"><h2>Webhook subscriptions</h2>
<p class="muted">The CRM posts each change to these URLs, signed in <code>X-Sandbox-Signature</code> with the client secret.
Subscribe with <code>POST {base}/api/v1/webhooks {{"url": "…"}}</code>.</p>
<ul>{subscriptions}</ul></section>
<section class="card"><h2>Inbox</h2>
<p class="muted">A callback URL to try events with: give an instance <code>{base}/inbox</code> as its callback URL,
or register it as a lifecycle webhook endpoint, and what Tether delivers shows here (the latest {inbox_size}).</p>
<table aria-label="Inbox"><tr><th>At (UTC)</th><th>Event id</th><th>Change</th><th>Signature</th></tr>{inbox}</table></section>
</body></html>"#,
        inbox_size = super::state::INBOX_SIZE,
        style = STYLE,
        client_id = super::authorization::CLIENT_ID,
        client_secret = escape(&data.client_secret),
        lifetime = sandbox.settings.access_token_lifetime.num_seconds(),
    ))
}

pub async fn revoke_all(State(sandbox): State<Arc<Sandbox>>, headers: HeaderMap) -> Response {
    if !same_origin(&headers) {
        return cross_site();
    }
    let revoked = sandbox.change(|data| data.revoke_all_grants());
    back(&format!("Revoked {revoked} grant(s). Instances holding them now get invalid_grant on refresh."))
}

#[derive(Deserialize)]
pub struct OutageForm {
    minutes: String,
}

pub async fn stage_outage(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Form(form): Form<OutageForm>,
) -> Response {
    if !same_origin(&headers) {
        return cross_site();
    }
    let minutes = match form.minutes.trim().parse::<f64>() {
        Ok(minutes) if (0.0..=1440.0).contains(&minutes) => minutes,
        _ => return (StatusCode::BAD_REQUEST, "minutes: a number from 0 to 1440").into_response(),
    };
    let until = Utc::now() + chrono::Duration::milliseconds((minutes * 60_000.0) as i64);
    sandbox.change(|data| data.token_outage_until = (minutes > 0.0).then_some(until));
    if minutes > 0.0 {
        back(&format!("The token endpoint answers 503 for {minutes} minute(s)."))
    } else {
        back("The outage is over; the token endpoint answers normally.")
    }
}

#[derive(Deserialize)]
pub struct ContactForm {
    #[serde(default)]
    id: Option<String>,
    name: String,
    #[serde(default)]
    email: String,
}

/// Creates a contact, or changes one when the form names its id; subscribers hear of it as from the API.
pub async fn save_contact(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Form(form): Form<ContactForm>,
) -> Response {
    if !same_origin(&headers) {
        return cross_site();
    }
    if form.name.trim().is_empty() {
        return (StatusCode::BAD_REQUEST, "name: a contact needs a name").into_response();
    }
    let mut fields = Map::new();
    fields.insert("name".into(), Value::String(form.name.trim().to_owned()));
    fields.insert("email".into(), Value::String(form.email.trim().to_owned()));
    let now = Utc::now();
    let change = match form.id.as_deref().map(str::parse::<u64>) {
        None => Some(sandbox.change(|data| data.create("contacts", fields, now))),
        Some(Ok(id)) => sandbox.change(|data| data.update("contacts", id, fields, now)),
        Some(Err(_)) => return (StatusCode::BAD_REQUEST, "id: a contact id").into_response(),
    };
    let Some(change) = change else { return (StatusCode::NOT_FOUND, "No such contact").into_response() };
    let message = format!("Contact {} {}.", change.object_id, change.event_type.to_lowercase());
    sandbox.announce(change);
    back(&message)
}

/// `POST /sandbox/inbox`: a callback URL for trying events and lifecycle webhooks; keeps what Tether delivers for
/// the control page.
pub async fn take_delivery(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or_default().to_owned();
    let event: Value = serde_json::from_slice(&body).unwrap_or_default();
    let changes = event["events"].as_array().cloned().unwrap_or_default();
    let summary = match event["type"].as_str() {
        // A lifecycle webhook: what happened to which instance.
        Some(lifecycle) => format!("{lifecycle} instance {}", event["instance"]["id"]),
        None => changes
            .iter()
            .map(|change| {
                let text = |field: &str| change[field].as_str().unwrap_or_default().to_owned();
                format!("{} {} {}", text("eventType"), text("objectType"), text("objectId"))
            })
            .collect::<Vec<_>>()
            .join(", "),
    };
    let delivered = super::state::Delivered {
        at: Utc::now(),
        event_id: header("webhook-id"),
        summary,
        signed: !header("webhook-signature").is_empty(),
    };
    let mut inbox = sandbox.inbox.lock().expect("sandbox inbox");
    inbox.push_front(delivered);
    inbox.truncate(super::state::INBOX_SIZE);
    StatusCode::OK
}
