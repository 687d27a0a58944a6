//! `/instances/{id}/history`: an instance's story, newest first.

use super::auth::ApiCaller;
use super::error::ApiResult;
use super::extract::ApiPath;
use app::history::HistoryEntry;
use app::hub::SharedHub;
use app::instances::{InstanceId, InstanceTarget};
use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<SharedHub> {
    OpenApiRouter::new().routes(routes!(instance_history))
}

/// What happened to one instance (created, edited, refreshed, a refresh failed, disabled, enabled, invalid,
/// recovered, re-authenticated), when and by whom, newest first: the newest 500 entries.
#[utoipa::path(get, path = "/instances/{id}/history", tag = "instances", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<HistoryEntry>)))]
async fn instance_history(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(id): ApiPath<InstanceId>,
) -> ApiResult<Json<Vec<HistoryEntry>>> {
    Ok(Json(hub.instance_history(&auth.caller, &InstanceTarget::Id(id)).await?))
}
