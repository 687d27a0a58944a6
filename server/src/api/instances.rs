//! `/instances`: authenticating element instances, and reading, listing, changing, disabling and deleting them,
//! by id or through the `Element` token of the id-less routes.

use super::auth::ApiCaller;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath, parse_query};
use app::error::HubError;
use app::hub::SharedHub;
use app::instances::{
    ConfigurationChange, ExtraFields, Instance, InstanceConfigurationItem, InstanceId, InstancePatch, InstanceQuery,
    InstanceTarget, NewInstance, RevealQuery, credential_keys, find_configuration_item,
};
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<SharedHub> {
    OpenApiRouter::new()
        .routes(routes!(create_instance, list_or_token_instance, update_token_instance, delete_token_instance))
        .routes(routes!(token_instance_configuration))
        .routes(routes!(get_instance, update_instance, delete_instance))
        .routes(routes!(enable_instance, disable_instance))
        .routes(routes!(instance_configuration))
        .routes(routes!(instance_configuration_item, update_instance_configuration_item))
}

fn token_target(auth: ApiCaller) -> Result<(app::hub::Caller, InstanceTarget), ApiError> {
    let token = auth.element.ok_or_else(|| {
        HubError::Unauthorized("this route acts on the instance named by `Authorization: …, Element <token>`".into())
    })?;
    Ok((auth.caller, InstanceTarget::Token(token)))
}

/// Authenticates a new instance of the element named in the body.
#[utoipa::path(post, path = "/instances", tag = "instances", request_body = NewInstance, responses((status = 200, body = Instance)))]
async fn create_instance(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiJson(new_instance): ApiJson<NewInstance>,
) -> ApiResult<Response> {
    let ignored = ExtraFields::of(&new_instance.other_fields).unknown;
    Ok(with_ignored_fields(ignored, hub.create_instance(&auth.caller, None, new_instance).await?))
}

/// An instance body's answer, with a `Warning` header naming the fields it carried that Tether neither applies
/// nor shows: a Cloud Elements client's extra fields are ignored, not refused.
pub(super) fn with_ignored_fields(ignored: Vec<String>, instance: Instance) -> Response {
    let mut response = Json(instance).into_response();
    if ignored.is_empty() {
        return response;
    }
    // A field's name is the client's text: only visible ASCII other than quotes goes into the header.
    let names: Vec<String> = ignored
        .iter()
        .map(|name| name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' { c } else { '?' }).collect())
        .collect();
    let text = format!("299 - \"ignored unknown fields: {}\"", names.join(", "));
    if let Ok(value) = HeaderValue::from_str(&text) {
        response.headers_mut().insert(header::WARNING, value);
    }
    response
}

/// The organization's instances, filtered and paged; with `Element <token>` in `Authorization`, that one
/// instance instead.
#[utoipa::path(get, path = "/instances", tag = "instances",
    params(("tags[]" = Option<Vec<String>>, Query, description = "Only instances with all these tags"),
        ("element" = Option<String>, Query, description = "Only instances of this element"),
        ("endUserId" = Option<String>, Query, description = "Only instances connected for this end user"),
        ("page" = Option<u32>, Query), ("pageSize" = Option<u32>, Query)),
    responses((status = 200, description = "A list of instances, or one instance for an instance token", body = Vec<Instance>)))]
async fn list_or_token_instance(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    if auth.element.is_some() {
        let query: RevealQuery = parse_query(raw.as_deref().unwrap_or_default())?;
        let (caller, target) = token_target(auth)?;
        return Ok(Json(instance_read(hub.as_ref(), &caller, &target, query).await?).into_response());
    }
    let query: InstanceQuery = parse_query(raw.as_deref().unwrap_or_default())?;
    Ok(Json(hub.list_instances(&auth.caller, query).await?).into_response())
}

/// One instance as read, with its provider tokens in the clear when the query asks it to `reveal` them.
pub(super) async fn instance_read(
    hub: &dyn app::hub::Hub,
    caller: &app::hub::Caller,
    target: &InstanceTarget,
    query: RevealQuery,
) -> Result<Instance, HubError> {
    let mut instance = hub.instance(caller, target).await?;
    if query.reveal {
        instance.configuration.extend(hub.reveal_provider_tokens(caller, target).await?);
    }
    Ok(instance)
}

/// One instance. With `?reveal=true`, an organization admin reads the provider's access and refresh tokens in
/// its configuration (the read is audited); anyone else is refused.
#[utoipa::path(get, path = "/instances/{id}", tag = "instances", params(("id" = i64, Path), RevealQuery),
    responses((status = 200, body = Instance)))]
async fn get_instance(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(id): ApiPath<InstanceId>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Instance>> {
    let query: RevealQuery = parse_query(raw.as_deref().unwrap_or_default())?;
    Ok(Json(instance_read(hub.as_ref(), &auth.caller, &InstanceTarget::Id(id), query).await?))
}

/// Renames, re-tags, re-configures or re-authenticates an instance; only the fields given change.
#[utoipa::path(method(patch, put), path = "/instances/{id}", tag = "instances", params(("id" = i64, Path)),
    request_body = InstancePatch, responses((status = 200, body = Instance)))]
async fn update_instance(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(id): ApiPath<InstanceId>,
    ApiJson(patch): ApiJson<InstancePatch>,
) -> ApiResult<Response> {
    let ignored = ExtraFields::of(&patch.other_fields).unknown;
    Ok(with_ignored_fields(ignored, hub.update_instance(&auth.caller, &InstanceTarget::Id(id), patch).await?))
}

/// Changes the instance named by the instance token.
#[utoipa::path(method(patch, put), path = "/instances", tag = "instances", request_body = InstancePatch,
    responses((status = 200, body = Instance)))]
async fn update_token_instance(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiJson(patch): ApiJson<InstancePatch>,
) -> ApiResult<Response> {
    let (caller, target) = token_target(auth)?;
    let ignored = ExtraFields::of(&patch.other_fields).unknown;
    Ok(with_ignored_fields(ignored, hub.update_instance(&caller, &target, patch).await?))
}

/// Deletes an instance.
#[utoipa::path(delete, path = "/instances/{id}", tag = "instances", params(("id" = i64, Path)),
    responses((status = 200, description = "Deleted")))]
async fn delete_instance(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(id): ApiPath<InstanceId>,
) -> ApiResult<StatusCode> {
    hub.delete_instance(&auth.caller, &InstanceTarget::Id(id)).await?;
    // 200 with no body, as Cloud Elements answered.
    Ok(StatusCode::OK)
}

/// Deletes the instance named by the instance token.
#[utoipa::path(delete, path = "/instances", tag = "instances", responses((status = 200, description = "Deleted")))]
async fn delete_token_instance(State(hub): State<SharedHub>, auth: ApiCaller) -> ApiResult<StatusCode> {
    let (caller, target) = token_target(auth)?;
    hub.delete_instance(&caller, &target).await?;
    Ok(StatusCode::OK)
}

/// Enables an instance.
#[utoipa::path(put, path = "/instances/{id}/enabled", tag = "instances", params(("id" = i64, Path)),
    responses((status = 200, body = Instance)))]
async fn enable_instance(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(id): ApiPath<InstanceId>,
) -> ApiResult<Json<Instance>> {
    Ok(Json(hub.set_instance_enabled(&auth.caller, &InstanceTarget::Id(id), true).await?))
}

/// Disables an instance: calls through it are refused until it is enabled.
#[utoipa::path(delete, path = "/instances/{id}/enabled", tag = "instances", params(("id" = i64, Path)),
    responses((status = 200, body = Instance)))]
async fn disable_instance(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(id): ApiPath<InstanceId>,
) -> ApiResult<Json<Instance>> {
    Ok(Json(hub.set_instance_enabled(&auth.caller, &InstanceTarget::Id(id), false).await?))
}

/// An instance's configuration items, secrets masked.
#[utoipa::path(get, path = "/instances/{id}/configuration", tag = "instances", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<InstanceConfigurationItem>)))]
async fn instance_configuration(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(id): ApiPath<InstanceId>,
) -> ApiResult<Json<Vec<InstanceConfigurationItem>>> {
    Ok(Json(hub.instance_configuration(&auth.caller, &InstanceTarget::Id(id)).await?))
}

/// The configuration of the instance named by the instance token.
#[utoipa::path(get, path = "/instances/configuration", tag = "instances",
    responses((status = 200, body = Vec<InstanceConfigurationItem>)))]
async fn token_instance_configuration(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
) -> ApiResult<Json<Vec<InstanceConfigurationItem>>> {
    let (caller, target) = token_target(auth)?;
    Ok(Json(hub.instance_configuration(&caller, &target).await?))
}

/// One configuration item, by its id or key. The provider's tokens (`oauth.user.token`,
/// `oauth.user.refresh_token`) are shown in the clear to organization admins, and the read is audited; others
/// read `********`.
#[utoipa::path(get, path = "/instances/{id}/configuration/{item}", tag = "instances",
    params(("id" = i64, Path), ("item" = String, Path, description = "The item's id or key")),
    responses((status = 200, body = InstanceConfigurationItem)))]
async fn instance_configuration_item(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath((id, item)): ApiPath<(InstanceId, String)>,
) -> ApiResult<Json<InstanceConfigurationItem>> {
    let target = InstanceTarget::Id(id);
    let items = hub.instance_configuration(&auth.caller, &target).await?;
    let mut found = find_configuration_item(&items, &item)?.clone();
    let provider_token = [credential_keys::ACCESS_TOKEN, credential_keys::REFRESH_TOKEN].contains(&found.key.as_str());
    if provider_token && found.secret && auth.caller.is_admin() {
        let tokens = hub.reveal_provider_tokens(&auth.caller, &target).await?;
        if let Some(value) = tokens.get(&found.key) {
            found.property_value = value.clone();
        }
    }
    Ok(Json(found))
}

/// Changes one configuration item.
#[utoipa::path(patch, path = "/instances/{id}/configuration/{item}", tag = "instances",
    params(("id" = i64, Path), ("item" = String, Path, description = "The item's id or key")),
    request_body = ConfigurationChange, responses((status = 200, body = InstanceConfigurationItem)))]
async fn update_instance_configuration_item(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath((id, item)): ApiPath<(InstanceId, String)>,
    ApiJson(change): ApiJson<ConfigurationChange>,
) -> ApiResult<Json<InstanceConfigurationItem>> {
    let target = InstanceTarget::Id(id);
    Ok(Json(hub.update_instance_configuration(&auth.caller, &target, &item, change.property_value).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_query_reads_repeated_tags_and_refuses_the_unknown() {
        let query: InstanceQuery = parse_query("tags%5B%5D=a&tags[]=b&element=sfdc&page=2&pageSize=5").unwrap();
        assert_eq!(query.tags, vec!["a", "b"]);
        assert_eq!(query.element.as_deref(), Some("sfdc"));
        assert_eq!((query.page, query.page_size), (Some(2), Some(5)));
        assert_eq!(parse_query::<InstanceQuery>("").unwrap(), InstanceQuery::default());
        assert_eq!(parse_query::<InstanceQuery>("tags=a").unwrap().tags, vec!["a"]);
        for (raw, needle) in [("colour=red", "unknown field `colour`"), ("page=x", "page: invalid digit")] {
            let error = parse_query::<InstanceQuery>(raw).unwrap_err();
            assert!(error.message.contains(needle), "{raw}: {}", error.message);
        }
    }
}
