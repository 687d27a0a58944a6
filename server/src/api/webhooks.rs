//! `/webhooks`: the endpoints an organization registers for lifecycle webhooks, a test delivery, and each
//! endpoint's deliveries.

use super::auth::ApiCaller;
use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath};
use app::hub::SharedHub;
use app::webhooks::{NewWebhookEndpoint, WebhookDelivery, WebhookEndpoint, WebhookEndpointPatch};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<SharedHub> {
    OpenApiRouter::new()
        .routes(routes!(create_endpoint, endpoints))
        .routes(routes!(endpoint, update_endpoint, delete_endpoint))
        .routes(routes!(test_endpoint))
        .routes(routes!(deliveries))
        .routes(routes!(redeliver))
}

/// Registers an endpoint for lifecycle webhooks (every event type when `events` is empty); admins only. Each
/// delivery is signed with `signatureKey` as event deliveries are.
#[utoipa::path(post, path = "/webhooks", tag = "webhooks", request_body = NewWebhookEndpoint,
    responses((status = 201, body = WebhookEndpoint)))]
async fn create_endpoint(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiJson(new): ApiJson<NewWebhookEndpoint>,
) -> ApiResult<(StatusCode, Json<WebhookEndpoint>)> {
    Ok((StatusCode::CREATED, Json(hub.create_webhook(&auth.caller, new).await?)))
}

/// The organization's endpoints; signature keys are masked.
#[utoipa::path(get, path = "/webhooks", tag = "webhooks", responses((status = 200, body = Vec<WebhookEndpoint>)))]
async fn endpoints(State(hub): State<SharedHub>, auth: ApiCaller) -> ApiResult<Json<Vec<WebhookEndpoint>>> {
    Ok(Json(hub.webhooks(&auth.caller).await?))
}

/// One endpoint.
#[utoipa::path(get, path = "/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = WebhookEndpoint)))]
async fn endpoint(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<WebhookEndpoint>> {
    Ok(Json(hub.webhook(&auth.caller, &id).await?))
}

/// Changes an endpoint's URL, signature key or events; admins only.
#[utoipa::path(patch, path = "/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    request_body = WebhookEndpointPatch, responses((status = 200, body = WebhookEndpoint)))]
async fn update_endpoint(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(id): ApiPath<String>,
    ApiJson(patch): ApiJson<WebhookEndpointPatch>,
) -> ApiResult<Json<WebhookEndpoint>> {
    Ok(Json(hub.update_webhook(&auth.caller, &id, patch).await?))
}

/// Removes an endpoint and its deliveries; admins only.
#[utoipa::path(delete, path = "/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 204, description = "Removed")))]
async fn delete_endpoint(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    hub.delete_webhook(&auth.caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends the endpoint a `webhook.test` delivery, at once; answers it as queued.
#[utoipa::path(post, path = "/webhooks/{id}/test", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 202, body = WebhookDelivery)))]
async fn test_endpoint(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<(StatusCode, Json<WebhookDelivery>)> {
    Ok((StatusCode::ACCEPTED, Json(hub.test_webhook(&auth.caller, &id).await?)))
}

/// The endpoint's newest deliveries, newest first, with the answers they got.
#[utoipa::path(get, path = "/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = Vec<WebhookDelivery>)))]
async fn deliveries(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<WebhookDelivery>>> {
    Ok(Json(hub.webhook_deliveries(&auth.caller, &id).await?))
}

/// Sends one delivery again, at once, with its retries counted afresh.
#[utoipa::path(post, path = "/webhooks/{id}/deliveries/{delivery_id}/redeliver", tag = "webhooks",
    params(("id" = String, Path), ("delivery_id" = String, Path)),
    responses((status = 202, description = "Due again")))]
async fn redeliver(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath((id, delivery)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    hub.redeliver_webhook(&auth.caller, &id, &delivery).await?;
    Ok(StatusCode::ACCEPTED)
}
