//! `/audit`: the organization's audit log, newest first, by actor, action and time; admins only.

use super::auth::ApiCaller;
use super::error::ApiResult;
use super::extract::ApiQuery;
use app::service::SharedHub;
use app::types::{AuditLogEntry, AuditQuery};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

pub fn routes() -> Router<SharedHub> {
    Router::new().route("/audit", get(audit_log))
}

async fn audit_log(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Vec<AuditLogEntry>>> {
    Ok(Json(hub.audit_log(&auth.caller, query).await?))
}
