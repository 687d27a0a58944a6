//! The one template filler: every element template (authorization, token, refresh and revocation URLs, the API
//! base URL, credential and extra headers, token parameters) is filled here, from an instance's values and the
//! placeholders Tether supplies itself. A URL comes out parsed and checked against the element's host policy, and
//! a refused host is blamed on the value that supplied it.

use crate::catalog::{HostPolicy, check_reachable};
use crate::providers::outbound::Outbound;
use app::catalog::{ElementDefinition, Template};
use app::error::HubError;
use app::instances::credential_keys as key;
use secrecy::ExposeSecret;
use std::collections::BTreeMap;

/// The value of one placeholder: an instance value by its own name, or one Tether supplies under a documented
/// name (`clientId`, `clientSecret`, `accessToken`, `random`).
pub(super) fn lookup(values: &BTreeMap<String, String>, name: &str) -> Option<String> {
    let supplied_as = match name {
        "random" => return Some(crate::security::secrets::generate_secret().expose_secret().to_owned()),
        "clientId" => key::CLIENT_ID,
        "clientSecret" => key::CLIENT_SECRET,
        "accessToken" => key::ACCESS_TOKEN,
        _ => name,
    };
    values.get(name).or_else(|| values.get(supplied_as)).cloned()
}

/// Fills a text template; the error names the field and the placeholders no value was found for.
pub(super) fn fill(field: &str, template: &Template, values: &BTreeMap<String, String>) -> Result<String, HubError> {
    template.fill(|name| lookup(values, name)).ok_or_else(|| {
        let mut missing: Vec<&str> = template.placeholders().filter(|name| lookup(values, name).is_none()).collect();
        missing.dedup();
        HubError::invalid(field, format!("needs the parameter(s) {}", missing.join(", ")))
    })
}

/// Where a value lives when a caller names it: an instance's values are its configuration.
fn value_field(name: &str) -> String {
    format!("configuration.{name}")
}

/// Checks the values a URL template is filled with: none may carry control characters or backslashes, which URL
/// parsing would rewrite; a value that opens the URL (an origin, such as a captured `api_domain`) may not carry a
/// query, fragment or user; any other value stays inside its place, with no `/`, `?`, `#` or `@`.
fn check_url_values(template: &Template, values: &BTreeMap<String, String>) -> Result<(), HubError> {
    let leading: Vec<&str> = template
        .alternatives()
        .iter()
        .filter_map(|text| text.strip_prefix('{')?.split_once('}').map(|(name, _)| name))
        .collect();
    for name in template.placeholders() {
        let Some(value) = values.get(name) else { continue };
        if value.chars().any(|c| c.is_control() || c == '\\' || c.is_whitespace()) {
            return Err(HubError::invalid(
                &value_field(name),
                "must not hold spaces, control characters or backslashes",
            ));
        }
        if leading.contains(&name) {
            let parsed = url::Url::parse(value).map_err(|_| {
                HubError::invalid(&value_field(name), format!("`{value}` must be an origin such as https://host"))
            })?;
            let dot_segment = value.contains("/.") || value.to_ascii_lowercase().contains("%2e");
            if value.contains(['?', '#', '@']) || dot_segment || parsed.cannot_be_a_base() {
                return Err(HubError::invalid(
                    &value_field(name),
                    format!("`{value}` must be an origin such as https://host"),
                ));
            }
        } else if value.contains(['/', '?', '#', '@']) {
            return Err(HubError::invalid(&value_field(name), "must not hold '/', '?', '#' or '@'"));
        }
    }
    Ok(())
}

/// Which field supplied the host of a refused URL: the value in the template's origin (a leading placeholder, or
/// one between `://` and the path), else the template itself.
fn host_supplier(field: &str, template: &Template, values: &BTreeMap<String, String>) -> String {
    template
        .alternatives()
        .iter()
        .flat_map(|text| {
            let origin = match text.split_once("://") {
                Some((scheme, rest)) if !scheme.contains('{') => rest.split('/').next().unwrap_or_default(),
                _ => text.split('/').next().unwrap_or_default(),
            };
            app::catalog::placeholders_in(origin)
        })
        .find(|name| values.contains_key(*name))
        .map(value_field)
        .unwrap_or_else(|| field.to_owned())
}

/// Fills a URL template and checks the URL against `policy`: https to a public host (or what a private policy
/// allows). The error names the value that supplied a refused host.
pub(super) fn fill_url(
    field: &str,
    template: &Template,
    values: &BTreeMap<String, String>,
    policy: HostPolicy,
) -> Result<url::Url, HubError> {
    check_url_values(template, values)?;
    let filled = fill(field, template, values)?;
    check_reachable(field, &filled, policy).map_err(|error| match error {
        HubError::BadRequest(message) => {
            let blamed = host_supplier(field, template, values);
            HubError::BadRequest(match message.strip_prefix(field) {
                Some(rest) => format!("{blamed}{rest}"),
                None => message,
            })
        }
        other => other,
    })
}

/// Like [`fill_url`], and resolves a named host too, refusing one that points inward: the check a URL gets when
/// the values it is filled from are saved.
pub(super) async fn checked_url(
    field: &str,
    template: &Template,
    values: &BTreeMap<String, String>,
    policy: HostPolicy,
    outbound: &Outbound,
) -> Result<url::Url, HubError> {
    let url = fill_url(field, template, values, policy)?;
    if policy == HostPolicy::PublicOnly
        && let Err(refused) = outbound.check(&url).await
    {
        return Err(HubError::invalid(&host_supplier(field, template, values), refused));
    }
    Ok(url)
}

/// Checks every URL of an element that `values` can fill (token, refresh and revocation endpoints, the API base),
/// resolving named hosts: run before the first request of a new or changed instance, so that a value naming an
/// internal host is refused, with its field named, before anything is sent.
pub(super) async fn check_element_urls(
    definition: &ElementDefinition,
    values: &BTreeMap<String, String>,
    policy: HostPolicy,
    outbound: &Outbound,
) -> Result<(), HubError> {
    let mut urls = vec![("api.baseUrl", &definition.api.base_url)];
    if let Some(oauth) = &definition.oauth {
        urls.push(("oauth.tokenUrl", &oauth.token_url));
        urls.extend(oauth.refresh_url.as_ref().map(|url| ("oauth.refreshUrl", url)));
        urls.extend(oauth.revoke_url.as_ref().map(|url| ("oauth.revokeUrl", url)));
        urls.extend(oauth.request_token_url.as_ref().map(|url| ("oauth.requestTokenUrl", url)));
    }
    for (field, template) in urls {
        // A URL that needs a value not yet known (a field captured from the token answer) is checked once it is.
        if template.fill(|name| lookup(values, name)).is_some() {
            checked_url(field, template, values, policy, outbound).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()
    }

    #[test]
    fn documented_placeholders_are_filled_from_the_instance() {
        let template = Template::new("{clientId}:{clientSecret}:{accessToken}:{region}");
        let filled = fill(
            "api.headers.x",
            &template,
            &values(&[
                (key::CLIENT_ID, "id"),
                (key::CLIENT_SECRET, "secret"),
                (key::ACCESS_TOKEN, "t"),
                ("region", "eu"),
            ]),
        )
        .unwrap();
        assert_eq!(filled, "id:secret:t:eu");
        let missing = fill("api.headers.x", &template, &values(&[])).unwrap_err();
        assert!(missing.to_string().contains("clientId, clientSecret, accessToken, region"), "{missing}");
    }

    #[test]
    fn a_refused_host_is_blamed_on_the_value_that_supplied_it() {
        let template = Template::new("{accounts-server}/oauth/v2/token");
        let policy = HostPolicy::PublicOnly;
        for (value, problem) in [
            ("http://127.0.0.1:9/", "configuration.accounts-server"),
            ("https://localhost.", "configuration.accounts-server"),
            ("https://[::127.0.0.1]", "configuration.accounts-server"),
            ("https://accounts.example.com/admin?x=", "configuration.accounts-server"),
            ("https://accounts.example.com/a/../b", "configuration.accounts-server"),
            ("https://accounts.example.com\\@127.0.0.1", "configuration.accounts-server"),
        ] {
            let error =
                fill_url("oauth.tokenUrl", &template, &values(&[("accounts-server", value)]), policy).expect_err(value);
            assert!(error.to_string().starts_with(problem), "{value}: {error}");
        }
        let host = Template::new("https://{hostname}/api/v4");
        for value in ["127.0.0.1:8080", "evil.example/x?", "a@127.0.0.1", "h\tx"] {
            let error = fill_url("api.baseUrl", &host, &values(&[("hostname", value)]), policy).expect_err(value);
            assert!(error.to_string().starts_with("configuration.hostname"), "{value}: {error}");
        }
        let fine =
            fill_url("oauth.tokenUrl", &template, &values(&[("accounts-server", "https://accounts.zoho.eu")]), policy);
        assert_eq!(fine.unwrap().as_str(), "https://accounts.zoho.eu/oauth/v2/token");
    }

    /// Values for every placeholder of `definition`'s templates, as an instance of it would hold them.
    fn instance_values(definition: &ElementDefinition) -> BTreeMap<String, String> {
        let mut names: Vec<&str> = definition.api.headers.values().flat_map(Template::placeholders).collect();
        names.extend(definition.api.base_url.placeholders());
        if let Some(oauth) = &definition.oauth {
            names.extend(oauth.token_url.placeholders());
            names.extend(oauth.refresh_url.iter().flat_map(Template::placeholders));
            names.extend(oauth.refresh_params.values().flat_map(Template::placeholders));
        }
        let mut values: BTreeMap<String, String> = names
            .into_iter()
            .filter(|name| !app::catalog::BUILT_IN_PLACEHOLDERS.contains(name) && *name != "accessToken")
            .map(|name| {
                (name.to_owned(), if name.ends_with("domain") { "https://api.example.com" } else { "v" }.to_owned())
            })
            .collect();
        values.insert(key::CLIENT_ID.into(), "the-client-id".into());
        values.insert(key::CLIENT_SECRET.into(), "the-client-secret".into());
        values.insert(key::ACCESS_TOKEN.into(), "the-access-token".into());
        values
    }

    #[test]
    fn api_headers_with_client_placeholders_are_filled_for_the_catalog_elements_that_use_them() {
        let catalog = crate::catalog::built_in().unwrap();
        let element = |key: &str| catalog.iter().find(|definition| definition.key == key).unwrap();
        let etsy = element("etsy");
        let header = fill("api.headers.x-api-key", &etsy.api.headers["x-api-key"], &instance_values(etsy)).unwrap();
        assert_eq!(header, "the-client-id:the-client-secret");
        let getty = element("getty-images");
        let header = fill("api.headers.api-key", &getty.api.headers["api-key"], &instance_values(getty)).unwrap();
        assert_eq!(header, "the-client-id");
    }

    #[test]
    fn no_catalog_element_sends_a_token_parameter_twice() {
        use super::super::token_endpoints::{exchange_endpoint, refresh_endpoint};
        use crate::providers::token_client::{ClientCredentials, token_form};
        let client = ClientCredentials { id: "the-client-id".into(), secret: "the-client-secret".into() };
        let mut checked = 0;
        for definition in crate::catalog::built_in().unwrap() {
            let Some(oauth) = &definition.oauth else { continue };
            let values = instance_values(&definition);
            let requests = [
                (
                    exchange_endpoint(oauth, &values, HostPolicy::PublicOnly),
                    vec![
                        ("grant_type", "authorization_code".to_owned()),
                        ("code", "the-code".to_owned()),
                        ("redirect_uri", "https://app.example/callback".to_owned()),
                    ],
                ),
                (
                    refresh_endpoint(oauth, &values, HostPolicy::PublicOnly),
                    vec![("grant_type", "refresh_token".to_owned()), ("refresh_token", "the-refresh-token".to_owned())],
                ),
            ];
            for (endpoint, standard) in requests {
                let Ok(endpoint) = endpoint else { continue };
                let form = token_form(standard, &endpoint, &client);
                let mut names: Vec<&str> = form.iter().map(|(name, _)| *name).collect();
                names.sort_unstable();
                let count = names.len();
                names.dedup();
                assert_eq!(names.len(), count, "{} names a token parameter twice: {form:?}", definition.key);
                checked += 1;
            }
        }
        assert!(checked >= 540, "only {checked} token requests were checked");
    }

    #[tokio::test]
    async fn a_captured_field_naming_an_internal_host_is_refused_with_its_name() {
        let catalog = crate::catalog::built_in().unwrap();
        let zoho = catalog.iter().find(|definition| definition.key == "zoho").unwrap();
        let outbound = Outbound::new(crate::providers::outbound::OutboundSettings {
            allow_private: false,
            hosts: BTreeMap::from([("inward.test".to_owned(), vec![std::net::IpAddr::from([127, 0, 0, 1])])]),
            trusted_prefixes: Vec::new(),
        });
        let mut values = instance_values(zoho);
        values.insert("accounts-server".into(), "https://accounts.zoho.eu".into());
        // Without a domain extension, the API base is the `api_domain` the token answer named.
        values.remove("extension");
        for captured in ["https://inward.test:8443", "https://127.0.0.1", "https://[::ffff:169.254.169.254]"] {
            values.insert("api_domain".into(), captured.into());
            let refused = check_element_urls(zoho, &values, HostPolicy::PublicOnly, &outbound).await.unwrap_err();
            assert!(refused.to_string().starts_with("configuration.api_domain:"), "{captured}: {refused}");
        }
    }
}
