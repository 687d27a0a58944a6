//! `/instances/{id}/logs`: the calls made through an instance by the proxy, newest first.

use super::auth::ApiCaller;
use super::error::ApiResult;
use super::extract::{ApiPath, ApiQuery};
use app::call_logs::{CallLog, CallLogQuery};
use app::hub::SharedHub;
use app::instances::{InstanceId, InstanceTarget};
use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<SharedHub> {
    OpenApiRouter::new().routes(routes!(list_instance_logs))
}

/// The calls made through one instance, newest first. Headers and bodies appear only for an instance with
/// `traceLoggingEnabled`, with credentials masked.
#[utoipa::path(get, path = "/instances/{id}/logs", tag = "instances", params(("id" = i64, Path),
        ("status" = Option<String>, Query, description = "a class such as 4xx, or one status such as 404"),
        ("from" = Option<String>, Query, description = "calls at or after this time (RFC 3339)"),
        ("to" = Option<String>, Query, description = "calls before this time (RFC 3339)"),
        ("page" = Option<u32>, Query), ("pageSize" = Option<u32>, Query)),
    responses((status = 200, body = Vec<CallLog>)))]
async fn list_instance_logs(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(id): ApiPath<InstanceId>,
    ApiQuery(query): ApiQuery<CallLogQuery>,
) -> ApiResult<Json<Vec<CallLog>>> {
    Ok(Json(hub.call_logs(&auth.caller, &InstanceTarget::Id(id), query).await?))
}
