//! `/instances`: authenticating element instances and reading them back.

use super::auth::ApiCaller;
use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath};
use app::instances::{Instance, InstanceId, NewInstance};
use app::service::SharedHub;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};

pub fn routes() -> Router<SharedHub> {
    Router::new()
        .route("/instances", post(create_instance))
        .route("/elements/{key_or_id}/instances", post(create_element_instance))
        .route("/instances/{id}", get(get_instance))
}

async fn create_instance(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiJson(new_instance): ApiJson<NewInstance>,
) -> ApiResult<Json<Instance>> {
    Ok(Json(hub.create_instance(&auth.caller, None, new_instance).await?))
}

async fn create_element_instance(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(key_or_id): ApiPath<String>,
    ApiJson(new_instance): ApiJson<NewInstance>,
) -> ApiResult<Json<Instance>> {
    Ok(Json(hub.create_instance(&auth.caller, Some(&key_or_id), new_instance).await?))
}

async fn get_instance(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(id): ApiPath<InstanceId>,
) -> ApiResult<Json<Instance>> {
    Ok(Json(hub.instance(&auth.caller, id).await?))
}
