//! The REST API's OpenAPI 3.1 document: the routes describe themselves (`utoipa::path`), this adds what they
//! share: the server, the `Authorization` scheme, the error answer and the proxy's wildcard route.

use super::error::ErrorBody;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, RefOr, ResponseBuilder};
use utoipa::{OpenApi, PartialSchema, ToSchema};

/// The name of the one security scheme.
const SCHEME: &str = "tether";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tether",
        description = "Element instances, the element catalog, events and the proxy, compatible with Cloud Elements' \
                       instances API. Every route is under /elements/api-v2.",
        license(name = "MIT OR Apache-2.0")
    ),
    servers((url = "/elements/api-v2")),
    paths(proxy),
    tags(
        (name = "accounts", description = "The organization's accounts and their users"),
        (name = "audit", description = "Who did what, when"),
        (name = "connect", description = "Connect sessions: links a team hands its own users to connect an element"),
        (name = "elements", description = "The catalog, custom elements and saved OAuth apps"),
        (name = "instances", description = "Authenticated connections to providers"),
        (name = "events", description = "Changes heard from providers, and their delivery"),
        (name = "proxy", description = "Calls to a provider's API through an instance"),
        (name = "webhooks", description = "Lifecycle webhooks: a team's endpoints, told when a connection is made, breaks or heals")
    )
)]
struct Base;

/// Passes a call through to the provider's API, with the instance's credentials added; the answer is the
/// provider's own. The instance is the one the `Element` token in `Authorization` names.
#[utoipa::path(
    method(get, post, put, patch, delete),
    path = "/hubs/{hub}/{path}",
    tag = "proxy",
    params(
        ("hub" = String, Path, description = "The element's hub, such as `crm`"),
        ("path" = String, Path, description = "The rest of the provider's path, any number of segments")
    ),
    responses((status = "default", description = "The provider's answer, as it gave it"))
)]
#[allow(dead_code)]
fn proxy() {}

/// What every route's own description starts from.
pub fn base_document() -> Document {
    Base::openapi()
}

/// Adds what every operation shares: the security scheme (the webhook receiver opts out with an empty
/// requirement) and the error answer for 4xx and 5xx.
pub fn finish(mut document: Document) -> Document {
    let components = document.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        SCHEME,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "Authorization",
            "`User <user secret>, Organization <organization secret>`, plus `, Element <instance token>` for the \
             routes that act through one instance",
        ))),
    );
    components.schemas.insert(ErrorBody::name().into_owned(), ErrorBody::schema());
    document.security = Some(vec![SecurityRequirement::new(SCHEME, Vec::<String>::new())]);
    let error = ResponseBuilder::new()
        .description("Refused or failed: the status says which, the message names the field at fault")
        .content(
            "application/json",
            ContentBuilder::new().schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("Error")))).build(),
        )
        .build();
    for item in document.paths.paths.values_mut() {
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            operation.responses.responses.entry("4XX".into()).or_insert_with(|| error.clone().into());
            operation.responses.responses.entry("5XX".into()).or_insert_with(|| error.clone().into());
        }
    }
    document
}
