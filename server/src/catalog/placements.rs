//! Checks an element's credential placements: each fits the element's kind, names only its parameters, and the
//! list as a whole can be applied to one request.

use app::catalog::{
    AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AuthType, CredentialPlacement, ElementDefinition, Template,
};
use app::error::HubError;
use std::collections::HashSet;

/// The default halves of basic credentials, when the placement gives no templates.
pub const BASIC_USERNAME: &str = "{username}";
pub const BASIC_PASSWORD: &str = "{password}";

pub(super) fn check(definition: &ElementDefinition, known: &HashSet<&str>) -> Result<(), HubError> {
    let placements: Vec<&CredentialPlacement> = definition.api.credentials.iter().collect();
    let field = |index: usize| match placements.len() {
        1 => "api.credentials".to_owned(),
        _ => format!("api.credentials[{index}]"),
    };
    let count =
        |wanted: fn(&CredentialPlacement) -> bool| placements.iter().filter(|placement| wanted(placement)).count();
    let signs = |placement: &CredentialPlacement| {
        matches!(
            placement,
            CredentialPlacement::OAuth1 | CredentialPlacement::Duo | CredentialPlacement::AwsSigV4 { .. }
        )
    };
    if count(signs) > 1 {
        return Err(HubError::invalid("api.credentials", "a request takes one signature"));
    }
    if count(|placement| matches!(placement, CredentialPlacement::Path { .. })) > 1 {
        return Err(HubError::invalid("api.credentials", "at most one path placement"));
    }
    if count(|placement| matches!(placement, CredentialPlacement::Form { .. })) > 0
        && count(|placement| matches!(placement, CredentialPlacement::Json { .. })) > 0
    {
        return Err(HubError::invalid("api.credentials", "a body is a form or JSON, not both"));
    }
    if definition.auth == AuthType::OAuth1 && count(|placement| *placement == CredentialPlacement::OAuth1) == 0 {
        return Err(HubError::invalid("api.credentials", "an oauth1 element's calls are signed: use oauth1"));
    }
    for (index, placement) in placements.iter().enumerate() {
        let field = field(index);
        let values = |name: &str, template: &Template| check_placeholders(&format!("{field}.{name}"), template, known);
        match placement {
            CredentialPlacement::Bearer if !definition.auth.holds_tokens() => {
                return Err(HubError::invalid(
                    &field,
                    "bearer placement carries an OAuth access token; use header or query",
                ));
            }
            CredentialPlacement::Bearer => {}
            CredentialPlacement::Basic { username, password } => {
                if username.is_none()
                    && password.is_none()
                    && !(known.contains("username") && known.contains("password"))
                {
                    return Err(HubError::invalid(
                        &field,
                        "basic placement needs `username` and `password` parameters",
                    ));
                }
                values("username", username.as_ref().unwrap_or(&Template::new(BASIC_USERNAME)))?;
                values("password", password.as_ref().unwrap_or(&Template::new(BASIC_PASSWORD)))?;
            }
            CredentialPlacement::OAuth1 if definition.auth != AuthType::OAuth1 => {
                return Err(HubError::invalid(&field, "oauth1 placement signs with an oauth1 element's tokens"));
            }
            CredentialPlacement::OAuth1 => {}
            CredentialPlacement::Duo if !(known.contains("username") && known.contains("password")) => {
                return Err(HubError::invalid(
                    &field,
                    "duo placement signs with the `username` (integration key) and `password` (secret key) parameters",
                ));
            }
            CredentialPlacement::Duo => {}
            CredentialPlacement::AwsSigV4 { service, region } => {
                if !(known.contains(AWS_ACCESS_KEY_ID) && known.contains(AWS_SECRET_ACCESS_KEY)) {
                    return Err(HubError::invalid(
                        &field,
                        format!(
                            "awsSigV4 placement needs `{AWS_ACCESS_KEY_ID}` and `{AWS_SECRET_ACCESS_KEY}` parameters"
                        ),
                    ));
                }
                values("service", service)?;
                values("region", region)?;
            }
            CredentialPlacement::Header { name, value, .. }
            | CredentialPlacement::Query { name, value, .. }
            | CredentialPlacement::Form { name, value, .. }
            | CredentialPlacement::Json { name, value, .. } => {
                if let CredentialPlacement::Query { methods, .. }
                | CredentialPlacement::Form { methods, .. }
                | CredentialPlacement::Json { methods, .. } = placement
                    && let Some(wrong) = methods.iter().find(|method| !is_method(method))
                {
                    return Err(HubError::invalid(
                        &format!("{field}.methods"),
                        format!("{wrong:?} is not an upper-case HTTP method"),
                    ));
                }
                if name.trim().is_empty() {
                    return Err(HubError::invalid(&format!("{field}.name"), "must not be empty"));
                }
                if matches!(placement, CredentialPlacement::Json { .. })
                    && name.split('.').any(|segment| segment.is_empty())
                {
                    return Err(HubError::invalid(&format!("{field}.name"), "a dotted name needs a name between dots"));
                }
                values("value", value)?;
            }
            CredentialPlacement::Path { value } => {
                if value
                    .alternatives()
                    .iter()
                    .any(|text| text.contains('/') || text.contains('?') || text.contains('#'))
                {
                    return Err(HubError::invalid(
                        &format!("{field}.value"),
                        "is one path segment: no `/`, `?` or `#`",
                    ));
                }
                values("value", value)?;
            }
        }
    }
    Ok(())
}

/// Refuses a template that names a placeholder the element does not know.
pub(super) fn check_placeholders(field: &str, template: &Template, known: &HashSet<&str>) -> Result<(), HubError> {
    match template.placeholders().find(|name| !known.contains(name)) {
        Some(unknown) => {
            Err(HubError::invalid(field, format!("uses {{{unknown}}}, which is no parameter of this element")))
        }
        None => Ok(()),
    }
}

/// An HTTP method as placements name it: an upper-case token (`GET`, `POST`).
fn is_method(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_uppercase())
}
