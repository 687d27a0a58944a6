//! The sandbox's CRM API under `/sandbox/api/v1`: contacts and companies (list, create, read, update, delete),
//! `where=lastUpdated>'…'` for pollers, webhook subscriptions, and `me`. Every call needs a bearer token.

use super::data::{OBJECT_TYPES, Subscription};
use super::oauth::bearer_owner;
use super::state::Sandbox;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDateTime, Utc};
use oxide_auth_axum::OAuthResource;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Arc;

pub fn router() -> Router<Arc<Sandbox>> {
    Router::new()
        .route("/api/v1/me", get(me))
        .route("/api/v1/webhooks", get(list_subscriptions).post(subscribe))
        .route("/api/v1/webhooks/{id}", delete(unsubscribe))
        .route("/api/v1/{object_type}", get(list).post(create))
        .route("/api/v1/{object_type}/{id}", get(read).patch(update).put(update).delete(remove))
}

/// Why the CRM refuses a call: a status and a message, or the authorization server's own answer.
#[derive(Debug)]
pub enum Refusal {
    Problem(StatusCode, String),
    Unauthorized(Box<Response>),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Problem(status, message) => (status, Json(json!({ "message": message }))).into_response(),
            Refusal::Unauthorized(answer) => *answer,
        }
    }
}

type Answer = Result<Response, Refusal>;

fn problem(status: StatusCode, message: impl Into<String>) -> Refusal {
    Refusal::Problem(status, message.into())
}

/// Checks the bearer token (and the object type, when one is named); answers the grant's owner.
fn authorized(sandbox: &Arc<Sandbox>, resource: OAuthResource, object_type: Option<&str>) -> Result<String, Refusal> {
    let owner = bearer_owner(sandbox, resource).map_err(Refusal::Unauthorized)?;
    match object_type {
        Some(object_type) if !OBJECT_TYPES.contains(&object_type) => Err(problem(
            StatusCode::NOT_FOUND,
            format!("No object type {object_type}; there are contacts and companies"),
        )),
        _ => Ok(owner),
    }
}

fn fields(body: &[u8]) -> Result<Map<String, Value>, Refusal> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(fields)) => Ok(fields),
        _ => Err(problem(StatusCode::BAD_REQUEST, "The body must be a JSON object")),
    }
}

/// The time in `lastUpdated>'…'` (or `>=`), the only filter the CRM knows.
fn updated_since(filter: &str) -> Result<DateTime<Utc>, Refusal> {
    let bad = || problem(StatusCode::BAD_REQUEST, "where: use lastUpdated>'yyyy-MM-ddTHH:mm:ssZ'");
    let rest = filter.trim().strip_prefix("lastUpdated").ok_or_else(bad)?.trim_start();
    let rest = rest.strip_prefix(">=").or_else(|| rest.strip_prefix('>')).ok_or_else(bad)?;
    let text = rest.trim().trim_matches('\'');
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.to_utc())
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%SZ").map(|at| at.and_utc()))
        .map_err(|_| bad())
}

async fn me(State(sandbox): State<Arc<Sandbox>>, resource: OAuthResource) -> Answer {
    let owner = bearer_owner(&sandbox, resource).map_err(Refusal::Unauthorized)?;
    Ok(Json(json!({ "login": owner, "provider": "Tether Sandbox" })).into_response())
}

async fn list(
    State(sandbox): State<Arc<Sandbox>>,
    Path(object_type): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    resource: OAuthResource,
) -> Answer {
    authorized(&sandbox, resource, Some(&object_type))?;
    let since = query.get("where").map(|filter| updated_since(filter)).transpose()?;
    Ok(Json(sandbox.data.lock().expect("sandbox state").list(&object_type, since)).into_response())
}

async fn create(
    State(sandbox): State<Arc<Sandbox>>,
    Path(object_type): Path<String>,
    resource: OAuthResource,
    body: axum::body::Bytes,
) -> Answer {
    authorized(&sandbox, resource, Some(&object_type))?;
    let fields = fields(&body)?;
    let change = sandbox.change(|data| data.create(&object_type, fields, Utc::now()));
    let created = change.object.clone();
    sandbox.announce(change);
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn read(
    State(sandbox): State<Arc<Sandbox>>,
    Path((object_type, id)): Path<(String, u64)>,
    resource: OAuthResource,
) -> Answer {
    authorized(&sandbox, resource, Some(&object_type))?;
    let found = sandbox.data.lock().expect("sandbox state").get(&object_type, id);
    let record = found.ok_or_else(|| problem(StatusCode::NOT_FOUND, format!("No {object_type} record {id}")))?;
    Ok(Json(record).into_response())
}

async fn update(
    State(sandbox): State<Arc<Sandbox>>,
    Path((object_type, id)): Path<(String, u64)>,
    resource: OAuthResource,
    body: axum::body::Bytes,
) -> Answer {
    authorized(&sandbox, resource, Some(&object_type))?;
    let fields = fields(&body)?;
    let change = sandbox.change(|data| data.update(&object_type, id, fields, Utc::now()));
    let change = change.ok_or_else(|| problem(StatusCode::NOT_FOUND, format!("No {object_type} record {id}")))?;
    let updated = change.object.clone();
    sandbox.announce(change);
    Ok(Json(updated).into_response())
}

async fn remove(
    State(sandbox): State<Arc<Sandbox>>,
    Path((object_type, id)): Path<(String, u64)>,
    resource: OAuthResource,
) -> Answer {
    authorized(&sandbox, resource, Some(&object_type))?;
    let change = sandbox.change(|data| data.delete(&object_type, id, Utc::now()));
    let change = change.ok_or_else(|| problem(StatusCode::NOT_FOUND, format!("No {object_type} record {id}")))?;
    sandbox.announce(change);
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct NewSubscription {
    url: String,
}

/// `POST /webhooks {"url": …}`: the CRM sends every later change there, signed with the client's secret.
async fn subscribe(State(sandbox): State<Arc<Sandbox>>, resource: OAuthResource, body: axum::body::Bytes) -> Answer {
    let owner = authorized(&sandbox, resource, None)?;
    let wanted = serde_json::from_slice::<NewSubscription>(&body)
        .map_err(|_| problem(StatusCode::BAD_REQUEST, "The body must be {\"url\": \"https://…\"}"))?;
    let url = url::Url::parse(&wanted.url)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .ok_or_else(|| problem(StatusCode::BAD_REQUEST, "url: must be an absolute http or https URL"))?;
    if let Err(refused) = sandbox.settings.outbound.check(&url).await {
        return Err(problem(StatusCode::BAD_REQUEST, format!("url: {refused}")));
    }
    let subscription = sandbox.change(|data| {
        let subscription = Subscription { id: data.next_id(), url: wanted.url, owner };
        data.subscriptions.push(subscription.clone());
        subscription
    });
    Ok((StatusCode::CREATED, Json(json!({ "id": subscription.id, "url": subscription.url }))).into_response())
}

async fn list_subscriptions(State(sandbox): State<Arc<Sandbox>>, resource: OAuthResource) -> Answer {
    let owner = authorized(&sandbox, resource, None)?;
    let data = sandbox.data.lock().expect("sandbox state");
    let listed: Vec<Value> = data
        .subscriptions
        .iter()
        .filter(|subscription| subscription.owner == owner)
        .map(|subscription| json!({ "id": subscription.id, "url": subscription.url }))
        .collect();
    Ok(Json(listed).into_response())
}

async fn unsubscribe(State(sandbox): State<Arc<Sandbox>>, Path(id): Path<u64>, resource: OAuthResource) -> Answer {
    let owner = authorized(&sandbox, resource, None)?;
    let removed = sandbox.change(|data| {
        let before = data.subscriptions.len();
        data.subscriptions.retain(|subscription| subscription.id != id || subscription.owner != owner);
        before != data.subscriptions.len()
    });
    if !removed {
        return Err(problem(StatusCode::NOT_FOUND, format!("No subscription {id}")));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_poller_filter_is_read_with_either_date_form() {
        let at = updated_since("lastUpdated>'2026-11-23T08:30:00Z'").unwrap();
        assert_eq!(at.to_rfc3339(), "2026-11-23T08:30:00+00:00");
        let at = updated_since("lastUpdated >= '2026-11-23T08:30:00.500+01:00'").unwrap();
        assert_eq!(at.timestamp_millis() % 1000, 500);
        assert!(updated_since("name='Ada'").is_err());
        assert!(updated_since("lastUpdated>'yesterday'").is_err());
    }
}
