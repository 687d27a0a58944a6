//! The element catalog: loads the built-in definitions, validates any definition, and searches elements.
//!
//! Built-in elements are data in `server/catalog/`: `providers.json`, generated from provider endpoint facts by
//! `scripts/import-provider-facts.py`, and `cloud-elements.json`, written by hand, which adds elements under their
//! Cloud Elements keys and extends generated ones. A bad definition stops start-up with a message naming it.

mod placements;

use placements::check_placeholders;

use crate::providers::outbound::internal_host;
use crate::store::Store;
use app::catalog::{
    AuthType, Authentication, BUILT_IN_PLACEHOLDERS, ConfigurationItem, Element, ElementCard, ElementDefinition,
    ElementId, ElementQuery, ParameterType, Template,
};
use app::error::HubError;
use app::paging::Page;
use app::search::{SearchText, Searchable, rank};
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Arc;

const PROVIDERS: &str = include_str!("../catalog/providers.json");
const CLOUD_ELEMENTS: &str = include_str!("../catalog/cloud-elements.json");
/// The Tether Sandbox element, with `{sandboxUrl}` standing for where the sandbox is served.
const SANDBOX: &str = include_str!("../catalog/sandbox.json");

/// The `sandbox` element, pointing at the sandbox served at `sandbox_url`.
pub fn sandbox_element(sandbox_url: &str) -> anyhow::Result<ElementDefinition> {
    let text = SANDBOX.replace("{sandboxUrl}", sandbox_url.trim_end_matches('/'));
    let value: Value = serde_json::from_str(&text)?;
    parse_definition(value).map_err(|error| anyhow::anyhow!("sandbox.json: {error}"))
}

/// The built-in definitions, merged and validated.
pub fn built_in() -> Result<Vec<ElementDefinition>, String> {
    let providers: Value = serde_json::from_str(PROVIDERS).map_err(|error| format!("providers.json: {error}"))?;
    let overlay: Value =
        serde_json::from_str(CLOUD_ELEMENTS).map_err(|error| format!("cloud-elements.json: {error}"))?;
    let mut raw: Vec<Value> = providers["elements"].as_array().cloned().unwrap_or_default();
    raw.extend(overlay["elements"].as_array().cloned().unwrap_or_default());
    if let Some(extensions) = overlay["extend"].as_object() {
        for (key, extension) in extensions {
            let target = raw
                .iter_mut()
                .find(|element| element["key"] == Value::String(key.clone()))
                .ok_or_else(|| format!("cloud-elements.json: `extend` names unknown element {key}"))?;
            merge(target, extension);
        }
    }
    let mut definitions = Vec::with_capacity(raw.len());
    let mut names = HashSet::new();
    for value in raw {
        let key = value["key"].as_str().unwrap_or("?").to_owned();
        let definition: ElementDefinition =
            parse_definition(value).map_err(|error| format!("element {key}: {error}"))?;
        validate(&definition, HostPolicy::PublicOnly).map_err(|error| format!("element {key}: {error}"))?;
        for name in std::iter::once(&definition.key).chain(&definition.aliases) {
            if !names.insert(name.clone()) {
                return Err(format!("element {key}: the key or alias {name} is used twice"));
            }
        }
        definitions.push(definition);
    }
    Ok(definitions)
}

/// Merges `extension` into `target`: objects field by field, everything else replaced.
fn merge(target: &mut Value, extension: &Value) {
    match (target, extension) {
        (Value::Object(target), Value::Object(extension)) => {
            for (field, value) in extension {
                merge(target.entry(field.clone()).or_insert(Value::Null), value);
            }
        }
        (target, extension) => *target = extension.clone(),
    }
}

/// Reads a definition from JSON, naming the field of the first problem.
pub fn parse_definition(value: Value) -> Result<ElementDefinition, HubError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let field = if path == "." { "definition".to_owned() } else { path };
        HubError::BadRequest(format!("{field}: {}", error.inner()))
    })
}

/// Which hosts element URLs may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostPolicy {
    /// Public hosts over https only: the rule for the built-in catalog and, by default, for custom elements.
    PublicOnly,
    /// Loopback and private-network hosts too, and plain http on loopback (for tests and local providers).
    AllowPrivate,
}

/// Checks a definition: names, templates, parameters and their consistency. The error names the field.
pub fn validate(definition: &ElementDefinition, hosts: HostPolicy) -> Result<(), HubError> {
    let key_ok = |key: &str| {
        !key.is_empty()
            && key.len() <= 64
            && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
            && key.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
    };
    if !key_ok(&definition.key) {
        return Err(HubError::invalid(
            "key",
            "must be 1 to 64 lower-case letters, digits, '-', '_' or '.', starting with a letter or digit",
        ));
    }
    for (index, alias) in definition.aliases.iter().enumerate() {
        if !key_ok(alias) {
            return Err(HubError::invalid(&format!("aliases[{index}]"), "must look like a key"));
        }
    }
    if definition.name.trim().is_empty() || definition.name.chars().count() > 100 {
        return Err(HubError::invalid("name", "must be 1 to 100 characters"));
    }
    if definition.hub.is_empty() || !definition.hub.chars().all(|c| c.is_ascii_lowercase()) {
        return Err(HubError::invalid("hub", "must be a lower-case word such as crm, documents or marketing"));
    }

    let mut parameter_keys = HashSet::new();
    for (index, parameter) in definition.parameters.iter().enumerate() {
        let field = format!("parameters[{index}]");
        if !key_ok(&parameter.key.to_ascii_lowercase()) {
            return Err(HubError::invalid(&format!("{field}.key"), "must be letters, digits, '-', '_' or '.'"));
        }
        if !parameter_keys.insert(parameter.key.as_str()) {
            return Err(HubError::invalid(&format!("{field}.key"), format!("{} is defined twice", parameter.key)));
        }
        if let Some(pattern) = &parameter.pattern {
            fancy_regex::Regex::new(pattern).map_err(|error| {
                HubError::invalid(&format!("{field}.pattern"), format!("is not a valid regular expression: {error}"))
            })?;
        }
        if parameter.kind == ParameterType::Choice && parameter.options.is_empty() {
            return Err(HubError::invalid(&format!("{field}.options"), "a choice needs at least one option"));
        }
        if let Some(default) = &parameter.default
            && parameter.kind == ParameterType::Choice
            && !parameter.options.contains(default)
        {
            return Err(HubError::invalid(&format!("{field}.default"), "must be one of the options"));
        }
    }

    // A webhook signature keyed with a value the instance never has would be checked with an empty key.
    if let Some(signature) = definition.events.webhook.as_ref().and_then(|webhook| webhook.signature.as_ref()) {
        let key = signature.secret_parameter.as_str();
        let is_oauth_secret =
            key == app::instances::credential_keys::CLIENT_SECRET && definition.auth == AuthType::OAuth2;
        if !parameter_keys.contains(key) && !is_oauth_secret {
            return Err(HubError::invalid(
                "events.webhook.signature.secretParameter",
                format!("`{key}` is not a parameter of this element (nor oauth.api.secret of an oauth2 element)"),
            ));
        }
    }

    // What templates may name: parameters, captured token fields, credentials and Tether's own values.
    let mut known: HashSet<&str> = parameter_keys.clone();
    known.extend(BUILT_IN_PLACEHOLDERS);
    match (definition.auth, &definition.oauth) {
        (auth @ (AuthType::OAuth2 | AuthType::OAuth1 | AuthType::ClientCredentials), Some(oauth)) => {
            known.insert("accessToken");
            known.extend(oauth.capture.iter().map(String::as_str));
            if let Some((name, key)) =
                oauth.callback_values.iter().find(|(_, key)| !parameter_keys.contains(key.as_str()))
            {
                return Err(HubError::invalid(
                    &format!("oauth.callbackValues.{name}"),
                    format!("`{key}` is not a parameter of this element"),
                ));
            }
            match (auth, &oauth.request_token_url) {
                (AuthType::OAuth1, Some(url)) => check_url("oauth.requestTokenUrl", url, &known, definition, hosts)?,
                (AuthType::OAuth1, None) => {
                    return Err(HubError::invalid("oauth.requestTokenUrl", "required for an oauth1 element"));
                }
                (_, Some(_)) => {
                    return Err(HubError::invalid("oauth.requestTokenUrl", "only an oauth1 element has one"));
                }
                (_, None) => {}
            }
            match (auth, &oauth.authorization_url) {
                (AuthType::OAuth2 | AuthType::OAuth1, Some(url)) => {
                    check_url("oauth.authorizationUrl", url, &known, definition, hosts)?
                }
                (AuthType::OAuth2 | AuthType::OAuth1, None) => {
                    return Err(HubError::invalid(
                        "oauth.authorizationUrl",
                        "required for an oauth1 or oauth2 element",
                    ));
                }
                (_, Some(_)) => {
                    return Err(HubError::invalid(
                        "oauth.authorizationUrl",
                        "a clientCredentials element has no authorization URL",
                    ));
                }
                (_, None) => {}
            }
            check_url("oauth.tokenUrl", &oauth.token_url, &known, definition, hosts)?;
            if let Some(url) = &oauth.refresh_url {
                check_url("oauth.refreshUrl", url, &known, definition, hosts)?;
            }
            if let Some(url) = &oauth.revoke_url {
                check_url("oauth.revokeUrl", url, &known, definition, hosts)?;
            }
            for (name, params) in [
                ("authorizationParams", &oauth.authorization_params),
                ("tokenParams", &oauth.token_params),
                ("refreshParams", &oauth.refresh_params),
            ] {
                for (param, template) in params {
                    check_placeholders(&format!("oauth.{name}.{param}"), template, &known)?;
                }
            }
        }
        (AuthType::OAuth2 | AuthType::OAuth1 | AuthType::ClientCredentials, None) => {
            return Err(HubError::invalid("oauth", "an OAuth element needs its OAuth endpoints"));
        }
        (_, Some(_)) => {
            return Err(HubError::invalid(
                "oauth",
                "only an oauth1, oauth2 or clientCredentials element has OAuth endpoints",
            ));
        }
        (_, None) => {}
    }

    check_url("api.baseUrl", &definition.api.base_url, &known, definition, hosts)?;
    placements::check(definition, &known)?;
    for (name, template) in &definition.api.headers {
        check_placeholders(&format!("api.headers.{name}"), template, &known)?;
    }
    for (index, object) in definition.objects.iter().enumerate() {
        if object.name.trim().is_empty() {
            return Err(HubError::invalid(&format!("objects[{index}].name"), "must not be empty"));
        }
    }
    Ok(())
}

/// A sample value for a placeholder, to check that a template makes a real URL.
fn sample_value(name: &str, definition: &ElementDefinition) -> String {
    let parameter = definition.parameters.iter().find(|parameter| parameter.key == name);
    let is_url = parameter.is_some_and(|parameter| parameter.kind == ParameterType::Url)
        || name.to_ascii_lowercase().contains("url");
    match parameter.and_then(|parameter| parameter.default.clone().or_else(|| parameter.options.first().cloned())) {
        Some(value) => value,
        None if is_url => "https://example.com".into(),
        None if name.eq_ignore_ascii_case("port") || parameter.is_some_and(|p| p.kind == ParameterType::Number) => {
            "443".into()
        }
        None => "example".into(),
    }
}

/// Checks a URL template: known placeholders, and every alternative an absolute https URL once filled, on a host
/// the policy allows.
fn check_url(
    field: &str,
    template: &Template,
    known: &HashSet<&str>,
    definition: &ElementDefinition,
    hosts: HostPolicy,
) -> Result<(), HubError> {
    check_placeholders(field, template, known)?;
    for alternative in template.alternatives() {
        // A placeholder that opens the URL stands for a whole origin, such as a captured `api_domain`.
        let leading = alternative.strip_prefix('{').and_then(|rest| rest.split_once('}')).map(|(name, _)| name);
        let filled = Template::new(alternative.clone())
            .fill(|name| {
                Some(if Some(name) == leading { "https://example.com".into() } else { sample_value(name, definition) })
            })
            .unwrap_or_default();
        check_reachable(field, &filled, hosts).map_err(|_| {
            let problem =
                match url::Url::parse(&filled).ok().and_then(|url| url.host().map(|h| internal_host(&h).is_some())) {
                    Some(true) if hosts == HostPolicy::PublicOnly => "names a loopback or private-network host",
                    _ => "must be an absolute https URL",
                };
            HubError::invalid(field, format!("{alternative} {problem}"))
        })?;
    }
    Ok(())
}

/// Checks a filled-in URL against the host policy: https to a public host, or, when private hosts are allowed,
/// also plain http on loopback. The error names the field and the URL.
pub fn check_reachable(field: &str, url: &str, hosts: HostPolicy) -> Result<url::Url, HubError> {
    let parsed =
        url::Url::parse(url).map_err(|error| HubError::invalid(field, format!("{url} is not a URL ({error})")))?;
    let host = parsed.host().ok_or_else(|| HubError::invalid(field, format!("{url} must be an absolute https URL")))?;
    if let Some(reason) = internal_host(&host).filter(|_| hosts == HostPolicy::PublicOnly) {
        return Err(HubError::invalid(field, format!("{url} names a loopback or private-network host: {reason}")));
    }
    let loopback = match &host {
        url::Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    let loopback_http = parsed.scheme() == "http" && loopback && hosts == HostPolicy::AllowPrivate;
    if parsed.scheme() != "https" && !loopback_http {
        return Err(HubError::invalid(field, format!("{url} must be an absolute https URL")));
    }
    Ok(parsed)
}

/// One element ready to search and show.
#[derive(Clone, Debug)]
pub struct CatalogEntry {
    pub id: ElementId,
    pub definition: Arc<ElementDefinition>,
    /// A custom element, seen only by the organization that defined it.
    pub private: bool,
    /// Served by this Tether itself (the sandbox), so its URLs may name this machine whatever the host policy.
    pub local: bool,
    search: SearchText,
}

impl CatalogEntry {
    pub fn new(id: ElementId, definition: ElementDefinition, private: bool) -> CatalogEntry {
        let search = SearchText::new(
            &definition.key,
            &definition.name,
            &definition.hub,
            &definition.description,
            &definition.aliases,
        );
        CatalogEntry { id, search, definition: Arc::new(definition), private, local: false }
    }

    /// The host policy this element's URLs are held to: `policy`, unless Tether serves the element itself.
    pub fn host_policy(&self, policy: HostPolicy) -> HostPolicy {
        if self.local { HostPolicy::AllowPrivate } else { policy }
    }

    /// Whether `key_or_id` names this element: its id, key or one of its aliases.
    pub fn is_named(&self, key_or_id: &str) -> bool {
        key_or_id.parse::<i64>().is_ok_and(|id| id == self.id.0)
            || self.definition.key == key_or_id
            || self.definition.aliases.iter().any(|alias| alias == key_or_id)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.definition.key.as_str()).chain(self.definition.aliases.iter().map(String::as_str))
    }

    /// The element in the Cloud Elements shape, with the full definition.
    pub fn to_element(&self) -> Element {
        let definition = &*self.definition;
        Element {
            id: self.id,
            key: definition.key.clone(),
            name: definition.name.clone(),
            description: definition.description.clone(),
            image: definition.image.clone().unwrap_or_default(),
            hub: definition.hub.clone(),
            active: true,
            deleted: false,
            type_oauth: definition.auth == AuthType::OAuth1,
            trial_account: false,
            resources: definition
                .objects
                .iter()
                .map(|object| app::catalog::ElementResource {
                    path: format!("/hubs/{}/{}", definition.hub, object.name),
                    method: "GET".into(),
                    vendor_name: object.vendor_name.clone(),
                })
                .collect(),
            parameters: Vec::new(),
            transformations_enabled: false,
            bulk_download_enabled: false,
            bulk_upload_enabled: false,
            cloneable: false,
            extendable: false,
            beta: false,
            extended: false,
            protocol_type: "http".into(),
            authentication: Authentication { kind: definition.auth },
            private: self.private,
            configuration: configuration(definition),
            definition: definition.clone(),
        }
    }

    pub fn to_card(&self) -> ElementCard {
        let definition = &*self.definition;
        ElementCard {
            id: self.id,
            key: definition.key.clone(),
            name: definition.name.clone(),
            hub: definition.hub.clone(),
            description: definition.description.clone(),
            image: definition.image.clone(),
            initials: definition.initials(),
            auth: definition.auth,
            popular: definition.popular,
            private: self.private,
            aliases: definition.aliases.clone(),
            instances: 0,
        }
    }
}

/// The configuration items an instance of the element takes, in the Cloud Elements shape.
fn configuration(definition: &ElementDefinition) -> Vec<ConfigurationItem> {
    let item = |key: &str, name: &str, kind: &str, required: bool, default: Option<String>| ConfigurationItem {
        key: key.into(),
        name: name.into(),
        description: String::new(),
        default_value: default,
        kind: kind.into(),
        required,
        hide_from_console: false,
        display_order: 0,
    };
    let mut items = Vec::new();
    if let Some(oauth) = &definition.oauth {
        use app::instances::credential_keys as key;
        items.push(item(key::CLIENT_ID, "OAuth client id", "TEXTFIELD_128", true, None));
        items.push(item(key::CLIENT_SECRET, "OAuth client secret", "PASSWORD", true, None));
        items.push(item(key::CALLBACK_URL, "OAuth callback URL", "TEXTFIELD_1000", true, None));
        let scopes = oauth.scopes.join(&oauth.scope_separator);
        items.push(item(key::SCOPE, "OAuth scopes", "TEXTFIELD_1000", false, (!scopes.is_empty()).then_some(scopes)));
    }
    for parameter in &definition.parameters {
        let kind = match parameter.kind {
            _ if parameter.secret => "PASSWORD",
            ParameterType::Password => "PASSWORD",
            ParameterType::Boolean => "BOOLEAN",
            ParameterType::Url => "TEXTFIELD_1000",
            _ => "TEXTFIELD_128",
        };
        let mut entry = item(&parameter.key, &parameter.label, kind, parameter.required, parameter.default.clone());
        entry.description = parameter.description.clone().unwrap_or_default();
        items.push(entry);
    }
    use app::events as event;
    if definition.events.support != app::catalog::EventMode::None {
        let vendor = match definition.events.support {
            app::catalog::EventMode::Webhooks => "webhooks",
            _ => "polling",
        };
        let minutes = event::DEFAULT_REFRESH_INTERVAL_MINUTES.to_string();
        items.push(item(event::ENABLED, "Events enabled", "BOOLEAN", false, Some("false".into())));
        items.push(item(event::VENDOR_TYPE, "Event type", "TEXTFIELD_32", false, Some(vendor.into())));
        items.push(item(event::CALLBACK_URL, "Event notification callback URL", "TEXTFIELD_1000", false, None));
        items.push(item(event::SIGNATURE_KEY, "Callback notification signature key", "PASSWORD", false, None));
        if definition.events.support != app::catalog::EventMode::Webhooks {
            items.push(item(
                event::REFRESH_INTERVAL,
                "Event poller refresh interval (minutes)",
                "TEXTFIELD_32",
                false,
                Some(minutes),
            ));
            let poller = definition.events.poller.as_ref().map(Value::to_string);
            items.push(item(event::POLLER_CONFIGURATION, "Event poller configuration", "TEXTAREA", false, poller));
        }
    }
    items.push(item(
        app::instances::FILTER_NULLS,
        "Leave null fields out of answers",
        "BOOLEAN",
        false,
        Some("true".into()),
    ));
    for (order, item) in items.iter_mut().enumerate() {
        item.display_order = order as u32 + 1;
    }
    items
}

/// The built-in elements, with their stable ids, held in memory for fast search.
#[derive(Debug)]
pub struct Catalog {
    built_in: Vec<CatalogEntry>,
}

impl Catalog {
    /// Loads and validates the shipped catalog, adds `local` elements (ones served by this Tether, such as the
    /// sandbox, which may name its loopback address), and brings the database's copy up to date.
    pub async fn open(store: &Store, local: Vec<ElementDefinition>) -> anyhow::Result<Catalog> {
        let mut definitions =
            built_in().map_err(|problem| anyhow::anyhow!("the built-in catalog is invalid: {problem}"))?;
        let local_keys: HashSet<String> = local.iter().map(|definition| definition.key.clone()).collect();
        for definition in local {
            validate(&definition, HostPolicy::AllowPrivate)
                .map_err(|error| anyhow::anyhow!("element {}: {error}", definition.key))?;
            if definitions.iter().any(|known| known.key == definition.key || known.aliases.contains(&definition.key)) {
                anyhow::bail!("element {}: the key is used twice", definition.key);
            }
            definitions.push(definition);
        }
        let ids = store.sync_built_in_elements(&definitions).await?;
        let built_in = definitions
            .into_iter()
            .map(|definition| {
                let id = ids[&definition.key];
                let local = local_keys.contains(&definition.key);
                CatalogEntry { local, ..CatalogEntry::new(id, definition, false) }
            })
            .collect();
        Ok(Catalog { built_in })
    }

    /// A catalog of the given entries, for benchmarks and tests that need no database.
    pub fn from_entries(built_in: Vec<CatalogEntry>) -> Catalog {
        Catalog { built_in }
    }

    pub fn built_in(&self) -> &[CatalogEntry] {
        &self.built_in
    }

    /// The built-in element with this id.
    pub fn by_id(&self, id: ElementId) -> Option<&CatalogEntry> {
        self.built_in.iter().find(|entry| entry.id == id)
    }

    /// The built-in element a key, alias or id names.
    pub fn find(&self, key_or_id: &str) -> Option<&CatalogEntry> {
        self.built_in.iter().find(|entry| entry.is_named(key_or_id))
    }
}

impl Searchable for CatalogEntry {
    fn search_text(&self) -> &SearchText {
        &self.search
    }
    fn name(&self) -> &str {
        &self.definition.name
    }
    fn hub(&self) -> &str {
        &self.definition.hub
    }
    fn auth(&self) -> AuthType {
        self.definition.auth
    }
    fn popular(&self) -> bool {
        self.definition.popular
    }
}

/// Filters and ranks `entries` by `query`; returns the requested page and how many matched in all.
pub fn search<'a>(
    entries: impl Iterator<Item = &'a CatalogEntry>,
    query: &ElementQuery,
    page: Page,
) -> (Vec<&'a CatalogEntry>, usize) {
    let term = query.search.as_deref().unwrap_or_default();
    let matches = rank(entries, term, query.hub.as_deref(), query.auth_type);
    let total = matches.len();
    (matches.into_iter().skip(page.offset() as usize).take(page.size() as usize).collect(), total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn definition(overrides: Value) -> Value {
        let mut base = json!({
            "key": "acme", "name": "Acme CRM", "hub": "crm", "auth": "oauth2",
            "oauth": {"authorizationUrl": "https://{subdomain}.acme.example/oauth/authorize",
                      "tokenUrl": "https://{subdomain}.acme.example/oauth/token"},
            "api": {"baseUrl": "https://{subdomain}.acme.example/api", "credentials": {"in": "bearer"}},
            "parameters": [{"key": "subdomain", "label": "Subdomain", "pattern": "^[a-z]+$"}]
        });
        merge(&mut base, &overrides);
        base
    }

    fn problem(overrides: Value) -> String {
        let parsed = parse_definition(definition(overrides));
        match parsed {
            Err(error) => error.to_string(),
            Ok(definition) => validate(&definition, HostPolicy::PublicOnly).expect_err("should be refused").to_string(),
        }
    }

    #[test]
    fn a_good_definition_passes() {
        validate(&parse_definition(definition(json!({}))).unwrap(), HostPolicy::PublicOnly).unwrap();
    }

    #[test]
    fn private_hosts_need_the_policy_and_http_only_on_loopback() {
        let local = |url: &str| parse_definition(definition(json!({"oauth": {"tokenUrl": url}}))).unwrap();
        for url in
            ["https://127.0.0.1/token", "https://localhost:8443/token", "https://10.1.2.3/token", "https://[::1]/token"]
        {
            let refused = validate(&local(url), HostPolicy::PublicOnly).unwrap_err().to_string();
            assert!(refused.contains("private-network"), "{url}: {refused}");
            validate(&local(url), HostPolicy::AllowPrivate).expect(url);
        }
        validate(&local("http://127.0.0.1:4000/token"), HostPolicy::AllowPrivate).unwrap();
        let plain = validate(&local("http://10.0.0.5/token"), HostPolicy::AllowPrivate).unwrap_err().to_string();
        assert!(plain.contains("https"), "{plain}");
    }

    #[test]
    fn problems_name_their_field() {
        assert!(problem(json!({"key": "Bad Key"})).starts_with("key:"));
        assert!(problem(json!({"name": ""})).starts_with("name:"));
        assert!(problem(json!({"auth": "magic"})).starts_with("auth:"));
        assert!(problem(json!({"oauth": {"tokenUrl": "http://acme.example/token"}})).starts_with("oauth.tokenUrl:"));
        assert!(problem(json!({"oauth": {"tokenUrl": "https://{tenant}.acme.example/token"}})).contains("{tenant}"));
        assert!(problem(json!({"api": {"baseUrl": "/relative"}})).starts_with("api.baseUrl:"));
        assert!(problem(json!({"api": {"credentials": {"in": "basic"}}})).starts_with("api.credentials:"));
        assert!(
            problem(json!({"parameters": [{"key": "subdomain", "label": "S", "pattern": "(["}]}))
                .starts_with("parameters[0].pattern:")
        );
        assert!(
            problem(json!({"parameters": [{"key": "subdomain", "label": "S", "type": "choice"}]}))
                .starts_with("parameters[0].options:")
        );
        assert!(problem(json!({"oauth": null})).starts_with("oauth:"));
        assert!(problem(json!({"objects": [{"name": "x", "vendorName": "X"}]})).starts_with("objects[0]:"));
        assert!(problem(json!({"colour": "blue"})).contains("unknown field `colour`"));
    }

    #[test]
    fn every_built_in_element_is_valid_and_unique() {
        let elements = built_in().expect("the built-in catalog loads");
        assert!(elements.len() >= 300, "{} elements", elements.len());
        let keys: HashSet<&str> = elements.iter().map(|element| element.key.as_str()).collect();
        assert_eq!(keys.len(), elements.len());
    }
}
