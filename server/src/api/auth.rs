//! REST authentication: parses `Authorization: User <secret>, Organization <secret>[, Element <token>]`.

use super::error::ApiError;
use app::error::HubError;
use app::hub::{ApiCredentials, Caller, SharedHub};
use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use secrecy::SecretString;

const EXPECTED: &str = "expected `Authorization: User <secret>, Organization <secret>`";

fn unauthorized(problem: &str) -> HubError {
    HubError::Unauthorized(format!("{problem}; {EXPECTED}"))
}

/// Reads the header's parts in any order, with any spacing; a part named twice or unknown is refused.
pub fn parse_authorization(header: &str) -> Result<ApiCredentials, HubError> {
    let mut user = None;
    let mut organization = None;
    let mut element = None;
    for part in header.split(',').map(str::trim).filter(|part| !part.is_empty()) {
        let (kind, value) =
            part.split_once(char::is_whitespace).ok_or_else(|| unauthorized("Authorization part without a value"))?;
        let value = value.trim();
        if value.is_empty() || value.contains(char::is_whitespace) {
            return Err(unauthorized("Authorization part with a malformed value"));
        }
        let slot = match kind.to_ascii_lowercase().as_str() {
            "user" => &mut user,
            "organization" => &mut organization,
            "element" => &mut element,
            _ => return Err(unauthorized("unknown Authorization part")),
        };
        if slot.replace(SecretString::from(value.to_owned())).is_some() {
            return Err(unauthorized("an Authorization part appears twice"));
        }
    }
    match (user, organization) {
        (Some(user), Some(organization)) => Ok(ApiCredentials { user, organization, element }),
        (None, _) => Err(unauthorized("the User secret is missing")),
        (_, None) => Err(unauthorized("the Organization secret is missing")),
    }
}

/// The authenticated caller of a REST request.
pub struct ApiCaller {
    pub caller: Caller,
    /// The instance token, for the routes that act through an element instance.
    pub element: Option<SecretString>,
}

impl<S: Send + Sync> FromRequestParts<S> for ApiCaller
where
    SharedHub: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let hub = SharedHub::from_ref(state);
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| unauthorized("the Authorization header is missing"))?
            .to_str()
            .map_err(|_| unauthorized("the Authorization header is not text"))?;
        let credentials = parse_authorization(header)?;
        let caller = hub.authenticate(&credentials).await?;
        Ok(ApiCaller { caller, element: credentials.element })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn parts_in_any_order_and_spacing() {
        for header in [
            "User u1, Organization o1",
            "Organization o1,User u1",
            "  user   u1 ,  ORGANIZATION o1  ",
            "Organization o1, Element e1, User u1",
        ] {
            let parsed = parse_authorization(header).expect(header);
            assert_eq!(parsed.user.expose_secret(), "u1");
            assert_eq!(parsed.organization.expose_secret(), "o1");
        }
        let with_element = parse_authorization("User u, Organization o, Element e").unwrap();
        assert_eq!(with_element.element.unwrap().expose_secret(), "e");
    }

    #[test]
    fn malformed_headers_are_refused_with_a_reason() {
        for (header, reason) in [
            ("", "User secret is missing"),
            ("User u1", "Organization secret is missing"),
            ("Organization o1", "User secret is missing"),
            ("User u1, User u2, Organization o", "appears twice"),
            ("Bearer abc", "unknown Authorization part"),
            ("User, Organization o", "without a value"),
            ("User a b, Organization o", "malformed value"),
        ] {
            let error = parse_authorization(header).expect_err(header).to_string();
            assert!(error.contains(reason), "{header:?}: {error}");
            assert!(matches!(parse_authorization(header), Err(HubError::Unauthorized(_))));
        }
    }
}
