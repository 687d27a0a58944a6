//! The event log (`/instances/{id}/events`, and `/instances/events` for the instance an `Element` token names,
//! or without one for the whole organization), redelivery, and providers' inbound webhooks at
//! `/events/{elementKey}/{instanceId}`.

use super::auth::ApiCaller;
use super::error::{ApiError, ApiResult};
use super::extract::ApiPath;
use app::events::{Event, EventQuery, EventStatus, Redelivery};
use app::instances::{InstanceId, InstanceTarget};
use app::service::SharedHub;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

pub fn routes() -> Router<SharedHub> {
    Router::new()
        .route("/instances/events", get(list_token_or_organization_events))
        .route("/instances/events/redeliver", post(redeliver_token_events))
        .route("/instances/events/{event_id}", get(token_or_organization_event))
        .route("/instances/events/{event_id}/redeliver", post(redeliver_token_or_organization_event))
        .route("/instances/{id}/events", get(list_instance_events))
        .route("/instances/{id}/events/redeliver", post(redeliver_instance_events))
        .route("/instances/{id}/events/{event_id}", get(instance_event))
        .route("/instances/{id}/events/{event_id}/redeliver", post(redeliver_instance_event))
        .route("/events/{element_key}/{instance_id}", post(receive_webhook))
}

/// The instance named by the call's `Element` token, if it carries one.
fn token_scope(auth: &ApiCaller) -> Option<InstanceTarget> {
    auth.element.clone().map(InstanceTarget::Token)
}

/// Reads `status`, `instanceId`, `page` and `pageSize`; anything else is refused by name.
fn parse_event_query(raw: Option<&str>) -> Result<EventQuery, ApiError> {
    let mut query = EventQuery::default();
    let number = |name: &str, value: &str| {
        value
            .parse::<u32>()
            .map_err(|_| ApiError::bad_request(format!("{name}: must be a whole number, not `{value}`")))
    };
    for (name, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match name.as_ref() {
            "status" => {
                query.status = Some(EventStatus::parse(&value).ok_or_else(|| {
                    ApiError::bad_request(format!("status: `{value}` is not PENDING, NOTIFIED, FAILED or QUEUED"))
                })?)
            }
            "instanceId" => query.instance_id = Some(InstanceId(i64::from(number("instanceId", &value)?))),
            "page" => query.page = number("page", &value)?,
            "pageSize" => query.page_size = number("pageSize", &value)?,
            other => {
                return Err(ApiError::bad_request(format!(
                    "{other}: unknown query parameter; use status, instanceId, page or pageSize"
                )));
            }
        }
    }
    Ok(query)
}

async fn list_token_or_organization_events(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Vec<Event>>> {
    let query = parse_event_query(raw.as_deref())?;
    Ok(Json(hub.list_events(&auth.caller, token_scope(&auth).as_ref(), query).await?))
}

async fn list_instance_events(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(id): ApiPath<InstanceId>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Vec<Event>>> {
    let query = parse_event_query(raw.as_deref())?;
    Ok(Json(hub.list_events(&auth.caller, Some(&InstanceTarget::Id(id)), query).await?))
}

async fn token_or_organization_event(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(event_id): ApiPath<String>,
) -> ApiResult<Json<Event>> {
    Ok(Json(hub.event(&auth.caller, token_scope(&auth).as_ref(), &event_id).await?))
}

async fn instance_event(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath((id, event_id)): ApiPath<(InstanceId, String)>,
) -> ApiResult<Json<Event>> {
    Ok(Json(hub.event(&auth.caller, Some(&InstanceTarget::Id(id)), &event_id).await?))
}

async fn redeliver_token_events(State(hub): State<SharedHub>, auth: ApiCaller) -> ApiResult<Json<Redelivery>> {
    let target = token_scope(&auth).ok_or_else(|| {
        ApiError::bad_request(
            "instance: name it with `Authorization: …, Element <token>` or use /instances/{id}/events/redeliver",
        )
    })?;
    Ok(Json(hub.redeliver_events(&auth.caller, Some(&target), None).await?))
}

async fn redeliver_instance_events(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(id): ApiPath<InstanceId>,
) -> ApiResult<Json<Redelivery>> {
    Ok(Json(hub.redeliver_events(&auth.caller, Some(&InstanceTarget::Id(id)), None).await?))
}

async fn redeliver_token_or_organization_event(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(event_id): ApiPath<String>,
) -> ApiResult<Json<Redelivery>> {
    Ok(Json(hub.redeliver_events(&auth.caller, token_scope(&auth).as_ref(), Some(&event_id)).await?))
}

async fn redeliver_instance_event(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath((id, event_id)): ApiPath<(InstanceId, String)>,
) -> ApiResult<Json<Redelivery>> {
    Ok(Json(hub.redeliver_events(&auth.caller, Some(&InstanceTarget::Id(id)), Some(&event_id)).await?))
}

/// A provider's webhook: no Tether credentials, but the element's signature when it defines one.
async fn receive_webhook(
    State(hub): State<SharedHub>,
    ApiPath((element_key, instance_id)): ApiPath<(String, InstanceId)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let queued = hub.receive_provider_webhook(&element_key, instance_id, &headers, &body).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "events": queued }))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_query_reads_its_filters_and_refuses_the_unknown() {
        let query = parse_event_query(Some("status=failed&instanceId=7&page=2&pageSize=10")).unwrap();
        assert_eq!(query.status, Some(EventStatus::Failed));
        assert_eq!(query.instance_id, Some(InstanceId(7)));
        assert_eq!((query.page, query.page_size), (2, 10));
        for (raw, needle) in [("status=lost", "status:"), ("colour=red", "colour: unknown"), ("page=x", "page:")] {
            let error = parse_event_query(Some(raw)).unwrap_err();
            assert!(error.message.contains(needle), "{raw}: {}", error.message);
        }
    }
}
