//! `/accounts`: the organization's accounts and their users.

use super::auth::ApiCaller;
use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath};
use app::hub::SharedHub;
use app::types::{Account, AccountId, CreatedUser, NewUser, User, UserId, UserPatch};
use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<SharedHub> {
    OpenApiRouter::new()
        .routes(routes!(list_accounts))
        .routes(routes!(list_users, create_user))
        .routes(routes!(update_user))
}

/// The organization's accounts: all of them for an admin, their own for a member.
#[utoipa::path(get, path = "/accounts", tag = "accounts", responses((status = 200, body = Vec<Account>)))]
async fn list_accounts(State(hub): State<SharedHub>, auth: ApiCaller) -> ApiResult<Json<Vec<Account>>> {
    Ok(Json(hub.list_accounts(&auth.caller).await?))
}

/// The users of an account.
#[utoipa::path(get, path = "/accounts/{id}/users", tag = "accounts", params(("id" = i64, Path, description = "Account id")),
    responses((status = 200, body = Vec<User>)))]
async fn list_users(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(account): ApiPath<AccountId>,
) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(hub.list_users(&auth.caller, account).await?))
}

/// Creates a user (admins only); the answer shows their API secret, and a generated password, once.
#[utoipa::path(post, path = "/accounts/{id}/users", tag = "accounts", params(("id" = i64, Path, description = "Account id")),
    request_body = NewUser, responses((status = 200, body = CreatedUser)))]
async fn create_user(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(account): ApiPath<AccountId>,
    ApiJson(new_user): ApiJson<NewUser>,
) -> ApiResult<Json<CreatedUser>> {
    Ok(Json(hub.create_user(&auth.caller, account, new_user).await?))
}

/// Changes a user's name, email or phone; a new phone is unconfirmed until a texted code confirms it.
#[utoipa::path(patch, path = "/accounts/{id}/users/{user_id}", tag = "accounts",
    params(("id" = i64, Path, description = "Account id"), ("user_id" = i64, Path, description = "User id")),
    request_body = UserPatch, responses((status = 200, body = User)))]
async fn update_user(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath((account, user)): ApiPath<(AccountId, UserId)>,
    ApiJson(change): ApiJson<UserPatch>,
) -> ApiResult<Json<User>> {
    Ok(Json(hub.update_user(&auth.caller, account, user, change).await?))
}
