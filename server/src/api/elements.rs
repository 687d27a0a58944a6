//! `/elements`: the catalog, its search, and an organization's custom elements.

use super::auth::ApiCaller;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::catalog;
use app::catalog::{AuthType, Element, ElementDefinition, ElementMetadata, ElementQuery};
use app::hub::SharedHub;
use app::instances::{NewOAuthApp, OAuthApp};
use app::oauth::{AuthorizationRequest, AuthorizationUrl, RequestToken};
use axum::Json;
use axum::extract::RawQuery;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The response header with the number of elements that match, across all pages.
pub const TOTAL_COUNT_HEADER: &str = "elements-total-count";

pub fn routes() -> OpenApiRouter<SharedHub> {
    OpenApiRouter::new()
        .routes(routes!(list_elements, create_element))
        .routes(routes!(get_element, replace_element, delete_element))
        .routes(routes!(element_metadata))
        .routes(routes!(authorization_url))
        .routes(routes!(short_authorization_url))
        .routes(routes!(request_token))
        .routes(routes!(saved_oauth_app, save_oauth_app, delete_oauth_app))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
struct ListParameters {
    /// Words to find in names, keys, aliases and descriptions, best matches first.
    search: Option<String>,
    /// One hub, such as `crm`.
    hub: Option<String>,
    /// One authentication type, such as `oauth2`, `apiKey` or `basic`.
    auth_type: Option<String>,
    /// The page, from 1.
    page: Option<u32>,
    /// Elements per page: 1 to 1000, 200 by default.
    page_size: Option<u32>,
}

impl ListParameters {
    fn into_query(self) -> Result<ElementQuery, ApiError> {
        let auth_type = self
            .auth_type
            .map(|text| {
                AuthType::parse(&text).ok_or_else(|| {
                    let known: Vec<&str> = AuthType::ALL.iter().map(|auth| auth.as_str()).collect();
                    ApiError::bad_request(format!("authType: unknown auth type `{text}`; one of {}", known.join(", ")))
                })
            })
            .transpose()?;
        Ok(ElementQuery { search: self.search, hub: self.hub, auth_type, page: self.page, page_size: self.page_size })
    }
}

/// The catalog: built-in elements and the organization's own, filtered, ranked and paged. The header
/// `elements-total-count` gives the number of matches across all pages.
#[utoipa::path(get, path = "/elements", tag = "elements", params(ListParameters),
    responses((status = 200, body = Vec<Element>, headers(("elements-total-count" = u64, description = "Matches across all pages")))))]
async fn list_elements(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiQuery(parameters): ApiQuery<ListParameters>,
) -> ApiResult<Response> {
    let page = hub.list_elements(&auth.caller, parameters.into_query()?).await?;
    let mut response = Json(page.elements).into_response();
    response.headers_mut().insert(HeaderName::from_static(TOTAL_COUNT_HEADER), HeaderValue::from(page.total));
    Ok(response)
}

/// One element, by key, alias or id.
#[utoipa::path(get, path = "/elements/{key_or_id}", tag = "elements", params(("key_or_id" = String, Path)),
    responses((status = 200, body = Element)))]
async fn get_element(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(key_or_id): ApiPath<String>,
) -> ApiResult<Json<Element>> {
    Ok(Json(hub.element(&auth.caller, &key_or_id).await?))
}

/// What a Cloud Elements client reads about an element before it turns events on: `events.supported` and
/// `events.methods` (`polling`, `webhook`), with the element's names and authentication type.
#[utoipa::path(get, path = "/elements/{key_or_id}/metadata", tag = "elements", params(("key_or_id" = String, Path)),
    responses((status = 200, body = ElementMetadata)))]
async fn element_metadata(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(key_or_id): ApiPath<String>,
) -> ApiResult<Json<ElementMetadata>> {
    Ok(Json(ElementMetadata::of(&hub.element(&auth.caller, &key_or_id).await?)))
}

/// Adds a custom element to the organization's catalog.
#[utoipa::path(post, path = "/elements", tag = "elements", request_body = ElementDefinition,
    responses((status = 200, body = Element)))]
async fn create_element(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Element>> {
    let definition = catalog::parse_definition(body)?;
    Ok(Json(hub.create_element(&auth.caller, definition).await?))
}

/// Replaces one of the organization's custom elements.
#[utoipa::path(put, path = "/elements/{key_or_id}", tag = "elements", params(("key_or_id" = String, Path)),
    request_body = ElementDefinition, responses((status = 200, body = Element)))]
async fn replace_element(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(key_or_id): ApiPath<String>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Element>> {
    let definition = catalog::parse_definition(body)?;
    Ok(Json(hub.replace_element(&auth.caller, &key_or_id, definition).await?))
}

/// Removes one of the organization's custom elements.
#[utoipa::path(delete, path = "/elements/{key_or_id}", tag = "elements", params(("key_or_id" = String, Path)),
    responses((status = 204, description = "Removed")))]
async fn delete_element(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(key_or_id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    hub.delete_element(&auth.caller, &key_or_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reads the query of `oauth/url` with the one query reader, as name and value pairs: its names are open-ended (any
/// element parameter may be given by its key), so the known names are taken out here and the rest kept as
/// parameters.
fn authorization_request(query: &str) -> Result<AuthorizationRequest, ApiError> {
    let mut request = AuthorizationRequest::default();
    let pairs: Vec<(String, String)> = super::extract::parse_query(query)?;
    for (name, value) in pairs {
        match name.as_str() {
            "apiKey" => request.client_id = Some(value),
            "apiSecret" => request.client_secret = Some(SecretString::from(value)),
            "callbackUrl" => request.callback_url = Some(value),
            "state" => request.state = Some(value),
            "scope" => request.scope = Some(value),
            "siteAddress" => request.site_address = Some(value),
            "requestToken" => request.request_token = Some(value),
            "pkce" => {
                request.pkce = match value.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(ApiError::bad_request("pkce: must be true or false")),
                }
            }
            parameter => {
                if request.parameters.insert(parameter.to_owned(), value).is_some() {
                    return Err(ApiError::bad_request(format!("{parameter}: given twice")));
                }
            }
        }
    }
    Ok(request)
}

/// The provider's authorization URL for an OAuth element. Besides the named parameters, any element parameter
/// may be given by its key.
#[utoipa::path(get, path = "/elements/{key_or_id}/oauth/url", tag = "elements",
    params(("key_or_id" = String, Path), ("apiKey" = Option<String>, Query, description = "Client id; else the saved app's"),
        ("apiSecret" = Option<String>, Query, description = "Client secret; else the saved app's"),
        ("callbackUrl" = Option<String>, Query), ("state" = Option<String>, Query), ("scope" = Option<String>, Query),
        ("siteAddress" = Option<String>, Query), ("pkce" = Option<bool>, Query),
        ("requestToken" = Option<String>, Query, description = "OAuth 1.0a: the request token from oauth/token; else Tether gets one")),
    responses((status = 200, body = AuthorizationUrl)))]
async fn authorization_url(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(key_or_id): ApiPath<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<AuthorizationUrl>> {
    let request = authorization_request(query.as_deref().unwrap_or_default())?;
    Ok(Json(hub.authorization_url(&auth.caller, &key_or_id, request).await?))
}

/// An OAuth 1.0a element's request token, for `oauth/url`'s `requestToken`: Tether asks the provider for one with
/// the consumer key and secret (else the saved app's) and the callback URL. Its `secret` goes in
/// `providerData.secret` when the instance is created (Tether also remembers it for 10 minutes).
#[utoipa::path(get, path = "/elements/{key_or_id}/oauth/token", tag = "elements",
    params(("key_or_id" = String, Path), ("apiKey" = Option<String>, Query, description = "Consumer key; else the saved app's"),
        ("apiSecret" = Option<String>, Query, description = "Consumer secret; else the saved app's"),
        ("callbackUrl" = Option<String>, Query)),
    responses((status = 200, body = RequestToken)))]
async fn request_token(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(key_or_id): ApiPath<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<RequestToken>> {
    let request = authorization_request(query.as_deref().unwrap_or_default())?;
    Ok(Json(hub.request_token(&auth.caller, &key_or_id, request).await?))
}

/// The same as `GET /elements/{keyOrId}/oauth/url`, at the shorter path Cloud Elements also answered
/// (`GET /{elementKey}/oauth/url`).
#[utoipa::path(get, path = "/{element_key}/oauth/url", tag = "elements",
    params(("element_key" = String, Path), ("apiKey" = Option<String>, Query), ("apiSecret" = Option<String>, Query),
        ("callbackUrl" = Option<String>, Query), ("state" = Option<String>, Query), ("scope" = Option<String>, Query),
        ("siteAddress" = Option<String>, Query), ("pkce" = Option<bool>, Query)),
    responses((status = 200, body = AuthorizationUrl)))]
async fn short_authorization_url(
    hub: State<SharedHub>,
    auth: ApiCaller,
    element_key: ApiPath<String>,
    query: RawQuery,
) -> ApiResult<Json<AuthorizationUrl>> {
    authorization_url(hub, auth, element_key, query).await
}

/// The organization's saved OAuth app for the element, secret masked.
#[utoipa::path(get, path = "/elements/{key_or_id}/oauth/app", tag = "elements", params(("key_or_id" = String, Path)),
    responses((status = 200, body = OAuthApp)))]
async fn saved_oauth_app(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(key_or_id): ApiPath<String>,
) -> ApiResult<Json<OAuthApp>> {
    Ok(Json(hub.oauth_app(&auth.caller, &key_or_id).await?))
}

/// Saves the organization's OAuth app for the element: used when a request names no client.
#[utoipa::path(put, path = "/elements/{key_or_id}/oauth/app", tag = "elements", params(("key_or_id" = String, Path)),
    request_body = NewOAuthApp, responses((status = 200, body = OAuthApp)))]
async fn save_oauth_app(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(key_or_id): ApiPath<String>,
    ApiJson(app): ApiJson<NewOAuthApp>,
) -> ApiResult<Json<OAuthApp>> {
    Ok(Json(hub.save_oauth_app(&auth.caller, &key_or_id, app).await?))
}

/// Forgets the organization's OAuth app for the element.
#[utoipa::path(delete, path = "/elements/{key_or_id}/oauth/app", tag = "elements", params(("key_or_id" = String, Path)),
    responses((status = 204, description = "Forgotten")))]
async fn delete_oauth_app(
    State(hub): State<SharedHub>,
    auth: ApiCaller,
    ApiPath(key_or_id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    hub.delete_oauth_app(&auth.caller, &key_or_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::authorization_request;
    use secrecy::ExposeSecret;

    #[test]
    fn the_authorization_query_takes_known_names_and_keeps_the_rest_as_parameters() {
        let request = authorization_request(
            "apiKey=client&apiSecret=s%26cret&callbackUrl=https%3A%2F%2Fapp.example%2Fcb&pkce=true&subdomain=acme",
        )
        .unwrap();
        assert_eq!(request.client_id.as_deref(), Some("client"));
        assert_eq!(
            request.client_secret.as_ref().map(|secret| secret.expose_secret().to_owned()).as_deref(),
            Some("s&cret")
        );
        assert_eq!(request.callback_url.as_deref(), Some("https://app.example/cb"));
        assert!(request.pkce);
        assert_eq!(request.parameters.into_iter().collect::<Vec<_>>(), [("subdomain".to_owned(), "acme".to_owned())]);
        let message = |query: &str| authorization_request(query).err().map(|error| error.message).unwrap_or_default();
        assert!(message("pkce=maybe").contains("pkce: must be true or false"), "{}", message("pkce=maybe"));
        assert!(
            message("subdomain=a&subdomain=b").contains("subdomain: given twice"),
            "{}",
            message("subdomain=a&subdomain=b")
        );
    }
}
