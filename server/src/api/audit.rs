//! `/audit`: the organization's audit log, newest first, by actor, action and time; admins only.

use super::auth::ApiCaller;
use super::error::ApiResult;
use super::extract::ApiQuery;
use app::hub::SharedHub;
use app::types::{AuditLogEntry, AuditQuery};
use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<SharedHub> {
    OpenApiRouter::new().routes(routes!(audit_log))
}

/// The organization's audit log, newest first; admins only.
#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Vec<AuditLogEntry>)))]
async fn audit_log(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Vec<AuditLogEntry>>> {
    Ok(Json(hub.audit_log(&auth.caller, query).await?))
}
