//! The event log (`/instances/{id}/events`, and `/instances/events` for the instance an `Element` token names,
//! or without one for the whole organization), redelivery, and providers' inbound webhooks at
//! `/events/{elementKey}/{instanceId}`.

use super::auth::ApiCaller;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiBytes, ApiPath, ApiQuery};
use super::limits::WebhookFailures;
use app::error::HubError;
use app::events::{Event, EventQuery, Redelivery};
use app::hub::SharedHub;
use app::instances::{InstanceId, InstanceTarget};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<SharedHub> {
    OpenApiRouter::new()
        .routes(routes!(list_token_or_organization_events))
        .routes(routes!(redeliver_token_events))
        .routes(routes!(token_or_organization_event))
        .routes(routes!(redeliver_token_or_organization_event))
        .routes(routes!(list_instance_events))
        .routes(routes!(redeliver_instance_events))
        .routes(routes!(instance_event))
        .routes(routes!(redeliver_instance_event))
        .routes(routes!(receive_webhook))
}

/// The instance named by the call's `Element` token, if it carries one.
fn token_scope(auth: &ApiCaller) -> Option<InstanceTarget> {
    auth.element.clone().map(InstanceTarget::Token)
}

/// Events of the instance the `Element` token names, or of the whole organization without one; newest first.
#[utoipa::path(get, path = "/instances/events", tag = "events", params(("status" = Option<String>, Query, description = "PENDING, NOTIFIED, FAILED or QUEUED"),
        ("instanceId" = Option<i64>, Query), ("page" = Option<u32>, Query), ("pageSize" = Option<u32>, Query)),
    responses((status = 200, body = Vec<Event>)))]
async fn list_token_or_organization_events(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiQuery(query): ApiQuery<EventQuery>,
) -> ApiResult<Json<Vec<Event>>> {
    Ok(Json(hub.list_events(&auth.caller, token_scope(&auth).as_ref(), query).await?))
}

/// Events of one instance, newest first.
#[utoipa::path(get, path = "/instances/{id}/events", tag = "events", params(("id" = i64, Path), ("status" = Option<String>, Query, description = "PENDING, NOTIFIED, FAILED or QUEUED"),
        ("instanceId" = Option<i64>, Query), ("page" = Option<u32>, Query), ("pageSize" = Option<u32>, Query)),
    responses((status = 200, body = Vec<Event>)))]
async fn list_instance_events(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(id): ApiPath<InstanceId>,
    ApiQuery(query): ApiQuery<EventQuery>,
) -> ApiResult<Json<Vec<Event>>> {
    Ok(Json(hub.list_events(&auth.caller, Some(&InstanceTarget::Id(id)), query).await?))
}

/// One event, with its payload and delivery attempts.
#[utoipa::path(get, path = "/instances/events/{event_id}", tag = "events", params(("event_id" = String, Path)),
    responses((status = 200, body = Event)))]
async fn token_or_organization_event(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(event_id): ApiPath<String>,
) -> ApiResult<Json<Event>> {
    Ok(Json(hub.event(&auth.caller, token_scope(&auth).as_ref(), &event_id).await?))
}

/// One event of one instance.
#[utoipa::path(get, path = "/instances/{id}/events/{event_id}", tag = "events",
    params(("id" = i64, Path), ("event_id" = String, Path)), responses((status = 200, body = Event)))]
async fn instance_event(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath((id, event_id)): ApiPath<(InstanceId, String)>,
) -> ApiResult<Json<Event>> {
    Ok(Json(hub.event(&auth.caller, Some(&InstanceTarget::Id(id)), &event_id).await?))
}

/// Queues the failed events of the instance the `Element` token names for delivery again.
#[utoipa::path(post, path = "/instances/events/redeliver", tag = "events", responses((status = 200, body = Redelivery)))]
async fn redeliver_token_events(State(hub): State<SharedHub>, auth: ApiCaller) -> ApiResult<Json<Redelivery>> {
    let target = token_scope(&auth).ok_or_else(|| {
        ApiError::bad_request(
            "instance: name it with `Authorization: …, Element <token>` or use /instances/{id}/events/redeliver",
        )
    })?;
    Ok(Json(hub.redeliver_events(&auth.caller, Some(&target), None).await?))
}

/// Queues an instance's failed events for delivery again.
#[utoipa::path(post, path = "/instances/{id}/events/redeliver", tag = "events", params(("id" = i64, Path)),
    responses((status = 200, body = Redelivery)))]
async fn redeliver_instance_events(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(id): ApiPath<InstanceId>,
) -> ApiResult<Json<Redelivery>> {
    Ok(Json(hub.redeliver_events(&auth.caller, Some(&InstanceTarget::Id(id)), None).await?))
}

/// Queues one event for delivery again.
#[utoipa::path(post, path = "/instances/events/{event_id}/redeliver", tag = "events", params(("event_id" = String, Path)),
    responses((status = 200, body = Redelivery)))]
async fn redeliver_token_or_organization_event(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(event_id): ApiPath<String>,
) -> ApiResult<Json<Redelivery>> {
    Ok(Json(hub.redeliver_events(&auth.caller, token_scope(&auth).as_ref(), Some(&event_id)).await?))
}

/// Queues one event of one instance for delivery again.
#[utoipa::path(post, path = "/instances/{id}/events/{event_id}/redeliver", tag = "events",
    params(("id" = i64, Path), ("event_id" = String, Path)), responses((status = 200, body = Redelivery)))]
async fn redeliver_instance_event(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath((id, event_id)): ApiPath<(InstanceId, String)>,
) -> ApiResult<Json<Redelivery>> {
    Ok(Json(hub.redeliver_events(&auth.caller, Some(&InstanceTarget::Id(id)), Some(&event_id)).await?))
}

/// A provider's webhook: no Tether credentials, but the element's signature when it defines one.
#[utoipa::path(post, path = "/events/{element_key}/{instance_id}", tag = "events", security(()),
    params(("element_key" = String, Path), ("instance_id" = i64, Path)),
    request_body(content = Value, description = "The provider's payload, as it sends it"),
    responses((status = 202, description = "The changes were queued as events", body = Value, example = json!({"events": 1}))))]
async fn receive_webhook(
    State(hub): State<SharedHub>,
    Extension(failures): Extension<WebhookFailures>,
    ApiPath((element_key, instance_id)): ApiPath<(String, InstanceId)>,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    match hub.receive_provider_webhook(&element_key, instance_id, &headers, &body).await {
        Ok(queued) => Ok((StatusCode::ACCEPTED, Json(json!({ "events": queued })))),
        Err(HubError::Unauthorized(message)) => match failures.note_failure(instance_id.0) {
            Some(seconds) => {
                let mut refused = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("Too many unverified webhooks for this URL; retry in {seconds} s"),
                );
                refused.retry_after_seconds = Some(seconds);
                Err(refused)
            }
            None => Err(HubError::Unauthorized(message).into()),
        },
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::extract::parse_query;
    use app::events::EventStatus;

    #[test]
    fn the_event_query_reads_its_filters_and_refuses_the_unknown() {
        let query: EventQuery = parse_query("status=failed&instanceId=7&page=2&pageSize=10").unwrap();
        assert_eq!(query.status, Some(EventStatus::Failed));
        assert_eq!(query.instance_id, Some(InstanceId(7)));
        assert_eq!((query.page, query.page_size), (Some(2), Some(10)));
        for (raw, needle) in [
            ("status=lost", "status: `lost` is not PENDING"),
            ("colour=red", "unknown field `colour`"),
            ("page=x", "page:"),
        ] {
            let error = parse_query::<EventQuery>(raw).unwrap_err();
            assert!(error.message.contains(needle), "{raw}: {}", error.message);
        }
    }
}
