//! Instances under their element, as Cloud Elements' clients manage them: `/elements/{keyOrId}/instances` and
//! `/elements/{keyOrId}/instances/{id}`. The element may be named by key, alias or id; an instance of another
//! element is unknown here (404), and nothing is done to it.

use super::auth::ApiCaller;
use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath, parse_query};
use super::instances::with_ignored_fields;
use app::error::HubError;
use app::hub::SharedHub;
use app::instances::{ExtraFields, Instance, InstanceId, InstancePatch, InstanceQuery, InstanceTarget, NewInstance};
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<SharedHub> {
    OpenApiRouter::new().routes(routes!(create_element_instance, list_element_instances)).routes(routes!(
        get_element_instance,
        update_element_instance,
        delete_element_instance
    ))
}

/// Authenticates a new instance of the element in the path.
#[utoipa::path(post, path = "/elements/{key_or_id}/instances", tag = "instances", params(("key_or_id" = String, Path)),
    request_body = NewInstance, responses((status = 200, body = Instance)))]
async fn create_element_instance(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(key_or_id): ApiPath<String>,
    ApiJson(new_instance): ApiJson<NewInstance>,
) -> ApiResult<Response> {
    let ignored = ExtraFields::of(&new_instance.other_fields).unknown;
    Ok(with_ignored_fields(ignored, hub.create_instance(&auth.caller, Some(&key_or_id), new_instance).await?))
}

/// The organization's instances of the element in the path, filtered and paged as `GET /instances`.
#[utoipa::path(get, path = "/elements/{key_or_id}/instances", tag = "instances",
    params(("key_or_id" = String, Path),
        ("tags[]" = Option<Vec<String>>, Query, description = "Only instances with all these tags"),
        ("endUserId" = Option<String>, Query, description = "Only instances connected for this end user"),
        ("page" = Option<u32>, Query), ("pageSize" = Option<u32>, Query)),
    responses((status = 200, body = Vec<Instance>)))]
async fn list_element_instances(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(key_or_id): ApiPath<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Vec<Instance>>> {
    let mut query: InstanceQuery = parse_query(raw.as_deref().unwrap_or_default())?;
    if query.element.as_ref().is_some_and(|named| *named != key_or_id) {
        return Err(HubError::invalid("element", "the path names the element already").into());
    }
    // An unknown element is a 404 here, not an empty list.
    hub.element(&auth.caller, &key_or_id).await?;
    query.element = Some(key_or_id);
    Ok(Json(hub.list_instances(&auth.caller, query).await?))
}

/// One instance of the element in the path.
#[utoipa::path(get, path = "/elements/{key_or_id}/instances/{id}", tag = "instances",
    params(("key_or_id" = String, Path), ("id" = i64, Path)), responses((status = 200, body = Instance)))]
async fn get_element_instance(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath((key_or_id, id)): ApiPath<(String, InstanceId)>,
) -> ApiResult<Json<Instance>> {
    Ok(Json(hub.instance(&auth.caller, &InstanceTarget::OfElement { element: key_or_id, id }).await?))
}

/// Changes an instance of the element in the path, as `PATCH /instances/{id}`.
#[utoipa::path(method(patch, put), path = "/elements/{key_or_id}/instances/{id}", tag = "instances",
    params(("key_or_id" = String, Path), ("id" = i64, Path)), request_body = InstancePatch,
    responses((status = 200, body = Instance)))]
async fn update_element_instance(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath((key_or_id, id)): ApiPath<(String, InstanceId)>,
    ApiJson(patch): ApiJson<InstancePatch>,
) -> ApiResult<Response> {
    let target = InstanceTarget::OfElement { element: key_or_id, id };
    let ignored = ExtraFields::of(&patch.other_fields).unknown;
    Ok(with_ignored_fields(ignored, hub.update_instance(&auth.caller, &target, patch).await?))
}

/// Deletes an instance of the element in the path, as `DELETE /instances/{id}`.
#[utoipa::path(delete, path = "/elements/{key_or_id}/instances/{id}", tag = "instances",
    params(("key_or_id" = String, Path), ("id" = i64, Path)), responses((status = 200, description = "Deleted")))]
async fn delete_element_instance(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath((key_or_id, id)): ApiPath<(String, InstanceId)>,
) -> ApiResult<StatusCode> {
    hub.delete_instance(&auth.caller, &InstanceTarget::OfElement { element: key_or_id, id }).await?;
    Ok(StatusCode::OK)
}
