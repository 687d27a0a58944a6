//! `/connect`: connect sessions a team makes for its own users, and the redirect URLs those sessions may name.

use super::auth::ApiCaller;
use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath};
use app::connect::{ConnectSession, CreatedConnectSession, NewConnectSession, RedirectUrls};
use app::hub::{SharedHub, request_origin};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<SharedHub> {
    OpenApiRouter::new()
        .routes(routes!(create_session))
        .routes(routes!(session, end_session))
        .routes(routes!(redirect_urls, set_redirect_urls))
}

/// A new connect session for one end user: hand its `url` to the user. The token is shown only in this answer.
#[utoipa::path(post, path = "/connect/sessions", tag = "connect", request_body = NewConnectSession,
    responses((status = 201, body = CreatedConnectSession)))]
async fn create_session(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    headers: HeaderMap,
    ApiJson(new_session): ApiJson<NewConnectSession>,
) -> ApiResult<(StatusCode, Json<CreatedConnectSession>)> {
    let created = hub.create_connect_session(&auth.caller, &request_origin(&headers)?, new_session).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// One of the organization's connect sessions: open, completed (with its instance), expired or ended.
#[utoipa::path(get, path = "/connect/sessions/{id}", tag = "connect", params(("id" = String, Path)),
    responses((status = 200, body = ConnectSession)))]
async fn session(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ConnectSession>> {
    Ok(Json(hub.connect_session(&auth.caller, &id).await?))
}

/// Ends a connect session: its link stops working. A used, expired or ended session stays as it is.
#[utoipa::path(delete, path = "/connect/sessions/{id}", tag = "connect", params(("id" = String, Path)),
    responses((status = 204, description = "Ended")))]
async fn end_session(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    hub.end_connect_session(&auth.caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The redirect URLs connect sessions may name.
#[utoipa::path(get, path = "/connect/redirect-urls", tag = "connect", responses((status = 200, body = RedirectUrls)))]
async fn redirect_urls(State(hub): State<SharedHub>, auth: ApiCaller) -> ApiResult<Json<RedirectUrls>> {
    Ok(Json(hub.redirect_urls(&auth.caller).await?))
}

/// Replaces the redirect URLs connect sessions may name: https, or http on localhost; admins only.
#[utoipa::path(put, path = "/connect/redirect-urls", tag = "connect", request_body = RedirectUrls,
    responses((status = 200, body = RedirectUrls)))]
async fn set_redirect_urls(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiJson(urls): ApiJson<RedirectUrls>,
) -> ApiResult<Json<RedirectUrls>> {
    Ok(Json(hub.set_redirect_urls(&auth.caller, urls).await?))
}
