//! `/accounts`: the organization's accounts and their users.

use super::auth::ApiCaller;
use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath};
use app::service::SharedHub;
use app::types::{Account, AccountId, CreatedUser, NewUser, User, UserId, UserPatch};
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::{get, patch};

pub fn routes() -> Router<SharedHub> {
    Router::new()
        .route("/accounts", get(list_accounts))
        .route("/accounts/{id}/users", get(list_users).post(create_user))
        .route("/accounts/{id}/users/{user_id}", patch(update_user))
}

async fn list_accounts(State(hub): State<SharedHub>, auth: ApiCaller) -> ApiResult<Json<Vec<Account>>> {
    Ok(Json(hub.list_accounts(&auth.caller).await?))
}

async fn list_users(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(account): ApiPath<AccountId>,
) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(hub.list_users(&auth.caller, account).await?))
}

async fn create_user(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(account): ApiPath<AccountId>,
    ApiJson(new_user): ApiJson<NewUser>,
) -> ApiResult<Json<CreatedUser>> {
    Ok(Json(hub.create_user(&auth.caller, account, new_user).await?))
}

async fn update_user(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath((account, user)): ApiPath<(AccountId, UserId)>,
    ApiJson(change): ApiJson<UserPatch>,
) -> ApiResult<Json<User>> {
    Ok(Json(hub.update_user(&auth.caller, account, user, change).await?))
}
