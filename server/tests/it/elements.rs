//! The element catalog over the REST API: coverage of the provider facts, search, filters and custom elements.

use crate::on_both_backends;
use crate::utils::{Backend, TestApp, expect_error, expect_json};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeMap;

on_both_backends!(
    catalog_covers_every_oauth2_provider_and_the_seed_elements,
    every_client_credentials_provider_is_an_element,
    every_oauth1_and_aws_provider_is_an_element,
    every_provider_is_an_element_or_listed_with_its_reason,
    search_ranks_the_expected_elements_first,
    filters_and_paging_work_and_unknown_filters_are_refused,
    an_element_reads_in_the_cloud_elements_shape,
    custom_elements_round_trip_and_stay_private,
    broken_or_clashing_definitions_are_refused,
    private_network_hosts_need_the_setting,
    metadata_tells_whether_and_how_instances_hear_of_changes,
);

async fn list(app: &TestApp, query: &str) -> (Vec<Value>, usize) {
    let response = app.as_admin(Method::GET, &format!("/elements?{query}")).send().await.unwrap();
    let total =
        response.headers().get("elements-total-count").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    let body = expect_json(response, StatusCode::OK).await;
    (body.as_array().unwrap().clone(), total.expect("elements-total-count header"))
}

fn keys(elements: &[Value]) -> Vec<&str> {
    elements.iter().map(|element| element["key"].as_str().unwrap()).collect()
}

/// Our template back in the facts' notation: `{x}` is `${connectionConfig.x}`, alternatives joined by `||`.
fn as_fact(template: &Value) -> String {
    let alternatives: Vec<String> = match template {
        Value::String(one) => vec![one.clone()],
        Value::Array(many) => many.iter().map(|v| v.as_str().unwrap().to_owned()).collect(),
        other => panic!("not a template: {other}"),
    };
    alternatives.iter().map(|text| text.replace('{', "${connectionConfig.")).collect::<Vec<_>>().join(" || ")
}

/// The element a provider's key names, as its key or an alias.
fn element_for<'a>(elements: &'a [Value], key: &str) -> &'a Value {
    elements
        .iter()
        .find(|element| {
            element["key"] == json!(key)
                || element["definition"]["aliases"].as_array().is_some_and(|a| a.contains(&json!(key)))
        })
        .unwrap_or_else(|| panic!("no element for provider {key}"))
}

fn normalize(fact: &str) -> String {
    fact.split("||").map(str::trim).collect::<Vec<_>>().join(" || ")
}

async fn catalog_covers_every_oauth2_provider_and_the_seed_elements(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (elements, total) = list(&app, "pageSize=1000").await;
    assert!(elements.len() >= 300, "{} elements", elements.len());
    assert_eq!(total, elements.len());

    let facts: BTreeMap<String, Value> =
        serde_json::from_str(include_str!("../fixtures/oauth2-endpoints.json")).expect("fixture");
    assert!(facts.len() >= 290);
    for (key, endpoints) in &facts {
        let element = element_for(&elements, key);
        let oauth = &element["definition"]["oauth"];
        assert_eq!(
            as_fact(&oauth["authorizationUrl"]),
            normalize(endpoints["authorization_url"].as_str().unwrap()),
            "{key}"
        );
        assert_eq!(as_fact(&oauth["tokenUrl"]), normalize(endpoints["token_url"].as_str().unwrap()), "{key}");
    }

    for seed in ["sfdc", "hubspot", "box", "infusionsoftrest", "infusionsoftcrm", "adobe-esign", "quickbooks", "eloqua"]
    {
        let element = elements.iter().find(|element| element["key"] == json!(seed)).unwrap_or_else(|| panic!("{seed}"));
        assert_eq!(element["authentication"]["type"], "oauth2", "{seed}");
    }
    let crm = elements.iter().find(|element| element["key"] == "infusionsoftcrm").unwrap();
    let parameters = crm["definition"]["parameters"].as_array().unwrap();
    let server = parameters.iter().find(|p| p["key"] == "infusionsoft.server").expect("server parameter");
    let key = parameters.iter().find(|p| p["key"] == "infusionsoft.private.key").expect("encrypted key parameter");
    assert_eq!(server["required"], true);
    assert_eq!(key["secret"], true);
    let sfdc = elements.iter().find(|element| element["key"] == "sfdc").unwrap();
    assert_eq!(sfdc["definition"]["aliases"], json!(["salesforce"]));
    assert_eq!(sfdc["definition"]["oauth"]["capture"], json!(["instance_url"]));
    assert!(!sfdc["definition"]["objects"].as_array().unwrap().is_empty());

    // API-key providers whose keys go in the body or the query, as their documentation says.
    let credentials = |key: &str| element_for(&elements, key)["definition"]["api"]["credentials"].clone();
    assert_eq!(credentials("mandrill"), json!({"in": "json", "name": "key", "value": "{apiKey}"}));
    assert_eq!(credentials("canny"), json!({"in": "json", "name": "apiKey", "value": "{apiKey}"}));
    assert_eq!(credentials("diffbot"), json!({"in": "query", "name": "token", "value": "{apiKey}"}));
    assert_eq!(credentials("smartlead-ai"), json!({"in": "query", "name": "api_key", "value": "{apiKey}"}));
    assert_eq!(credentials("webinarjam"), json!({"in": "form", "name": "api_key", "value": "{apiKey}"}));
    assert_eq!(credentials("peopledatalabs"), json!({"in": "header", "name": "X-Api-Key", "value": "{apiKey}"}));
    // Basic-auth providers whose facts name no fields take a username and password; Mailgun's username is `api`.
    assert_eq!(credentials("mailgun"), json!({"in": "basic"}));
    let mailgun = element_for(&elements, "mailgun")["definition"]["parameters"].clone();
    let username = mailgun.as_array().unwrap().iter().find(|p| p["key"] == "username").cloned().unwrap();
    assert_eq!(username["default"], "api");
    assert_eq!(credentials("vimeo-basic"), json!({"in": "basic"}));
}

/// Every client-credentials provider of the facts that names a token endpoint and an API is an element of that
/// kind, with the facts' token URL.
async fn every_client_credentials_provider_is_an_element(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (elements, _) = list(&app, "pageSize=1000").await;
    let facts: BTreeMap<String, String> =
        serde_json::from_str(include_str!("../fixtures/client-credentials-endpoints.json")).expect("fixture");
    assert!(facts.len() >= 95, "{} providers", facts.len());
    for (key, token_url) in &facts {
        let element = element_for(&elements, key);
        assert_eq!(element["authentication"]["type"], "clientCredentials", "{key}");
        assert_eq!(as_fact(&element["definition"]["oauth"]["tokenUrl"]), normalize(token_url), "{key}");
        assert!(element["definition"]["oauth"].get("authorizationUrl").is_none(), "{key}");
    }
}

/// The providers the README lists as left out of the catalog, with their reasons: the backticked keys of the
/// bullets under "Left out, N of 818".
fn left_out_in_readme() -> Vec<String> {
    let readme = include_str!("../../../README.md");
    let section = readme.split_once(" of 818, for these").expect("the README's left-out list").1;
    let bullets: Vec<&str> = section.lines().skip(1).take_while(|line| line.starts_with("  ")).collect();
    let text = bullets.join(" ");
    let mut keys: Vec<String> = text
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|quoted| quoted.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
        .map(str::to_owned)
        .collect();
    keys.dedup();
    keys
}

/// The catalog bar: every provider of the facts is an element whose API base URL is the facts' (with a credential
/// in the path kept apart as a path placement), or the README lists it with the reason it is not.
async fn every_provider_is_an_element_or_listed_with_its_reason(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (elements, _) = list(&app, "pageSize=1000").await;
    let facts: BTreeMap<String, Option<String>> =
        serde_json::from_str(include_str!("../fixtures/provider-base-urls.json")).expect("fixture");
    assert_eq!(facts.len(), 818);
    let left_out = left_out_in_readme();
    let mut missing = Vec::new();
    for (key, base_url) in &facts {
        let found = elements.iter().find(|element| {
            element["key"] == json!(key)
                || element["definition"]["aliases"].as_array().is_some_and(|a| a.contains(&json!(key)))
        });
        match (found, left_out.contains(key)) {
            (Some(_), true) => panic!("{key} is an element, yet the README lists it as left out"),
            (None, false) => missing.push(key.clone()),
            (None, true) => {}
            (Some(element), false) => {
                let api = &element["definition"]["api"];
                // Both in our notation: a placeholder is `{name}`, whatever the facts prefix it with.
                let neutral = |text: &str| {
                    text.replace("${connectionConfig.", "{").replace("${credentials.", "{").replace("${", "{")
                };
                let mut ours = neutral(&as_fact(&api["baseUrl"]));
                let placements = match &api["credentials"] {
                    Value::Array(many) => many.clone(),
                    one => vec![one.clone()],
                };
                if let Some(path) = placements.iter().find(|placement| placement["in"] == "path") {
                    ours = format!("{ours}/{}", path["value"].as_str().unwrap());
                }
                let fact = neutral(&normalize(base_url.as_deref().expect("an element's provider has a base URL")));
                assert_eq!(ours.trim_end_matches('/'), fact.trim_end_matches('/'), "{key}");
            }
        }
    }
    assert!(missing.is_empty(), "neither elements nor listed in the README: {missing:?}");
    let count = format!("Left out, {} of 818", left_out.len());
    assert!(include_str!("../../../README.md").contains(&count), "the README's count: {count}");
}

/// The facts' OAuth 1.0a providers, with their authorization and access-token URLs, and the AWS providers, each
/// signing for the service and region the facts give.
async fn every_oauth1_and_aws_provider_is_an_element(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (elements, _) = list(&app, "pageSize=1000").await;
    let facts: BTreeMap<String, BTreeMap<String, String>> =
        serde_json::from_str(include_str!("../fixtures/oauth1-endpoints.json")).expect("fixture");
    assert_eq!(facts.keys().collect::<Vec<_>>(), ["garmin", "smugmug", "trello", "twitter"]);
    for (key, urls) in &facts {
        let element = element_for(&elements, key);
        assert_eq!(element["authentication"]["type"], "oauth1", "{key}");
        let oauth = &element["definition"]["oauth"];
        assert_eq!(as_fact(&oauth["authorizationUrl"]), normalize(&urls["authorization_url"]), "{key}");
        assert_eq!(as_fact(&oauth["tokenUrl"]), normalize(&urls["token_url"]), "{key}");
        assert!(oauth["requestTokenUrl"].as_str().is_some_and(|url| url.starts_with("https://")), "{key}");
        assert_eq!(element["definition"]["api"]["credentials"], json!({"in": "oauth1"}), "{key}");
    }
    for (key, service, region) in [
        ("aws-iam", "iam", "us-east-1"),
        ("aws-inspector2", "inspector2", "{region}"),
        ("aws-multi-service", "{service}", "{region}"),
    ] {
        let credentials = &element_for(&elements, key)["definition"]["api"]["credentials"];
        assert_eq!(credentials, &json!({"in": "awsSigV4", "service": service, "region": region}), "{key}");
    }
}

async fn search_ranks_the_expected_elements_first(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (found, _) = list(&app, "search=hubspot").await;
    assert_eq!(keys(&found)[0], "hubspot");
    let (found, _) = list(&app, "search=sales").await;
    assert_eq!(keys(&found)[0], "sfdc", "{:?}", &keys(&found)[..5]);
    assert!(keys(&found)[..6].contains(&"salesloft"));
    let (found, total) = list(&app, "search=drive").await;
    let found = keys(&found);
    assert_eq!(found[0], "googledrive", "{found:?}");
    assert!(found.contains(&"one-drive-personal") && found.contains(&"pipedrive"), "{found:?}");
    assert_eq!(total, found.len());
    let (found, _) = list(&app, "search=SALESFORCE").await;
    assert_eq!(keys(&found)[0], "sfdc", "an alias matches, in any case");
    let (found, total) = list(&app, "search=zzzz-no-such-thing").await;
    assert!(found.is_empty() && total == 0);
}

async fn filters_and_paging_work_and_unknown_filters_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (crm, crm_total) = list(&app, "hub=crm&pageSize=1000").await;
    assert!(crm.len() > 20 && crm.iter().all(|element| element["hub"] == "crm"));
    assert_eq!(crm_total, crm.len());
    let (basic, _) = list(&app, "authType=basic&pageSize=1000").await;
    assert!(!basic.is_empty() && basic.iter().all(|element| element["authentication"]["type"] == "basic"));
    let (both, _) = list(&app, "hub=crm&authType=oauth2&search=sales").await;
    assert_eq!(keys(&both)[0], "sfdc");

    let (first, total) = list(&app, "pageSize=10&page=1").await;
    let (second, same_total) = list(&app, "pageSize=10&page=2").await;
    assert_eq!((first.len(), second.len()), (10, 10));
    assert_eq!(total, same_total);
    assert!(keys(&first).iter().all(|key| !keys(&second).contains(key)));
    let (beyond, _) = list(&app, "pageSize=1000&page=2").await;
    assert!(beyond.is_empty());

    for (query, needle) in [
        ("color=red", "unknown field `color`"),
        ("authType=magic", "authType: unknown auth type `magic`"),
        ("hub=nowhere", "hub: no element is in hub `nowhere`"),
        ("pageSize=0", "pageSize: must be 1 to 1000"),
        ("pageSize=5000", "pageSize: must be 1 to 1000"),
        ("pageSize=lots", "pageSize:"),
        ("page=0", "page: starts at 1"),
    ] {
        let response = app.as_admin(Method::GET, &format!("/elements?{query}")).send().await.unwrap();
        expect_error(response, StatusCode::BAD_REQUEST, needle).await;
    }
    let anonymous = app.api(Method::GET, "/elements").send().await.unwrap();
    expect_error(anonymous, StatusCode::UNAUTHORIZED, "Authorization").await;
}

async fn an_element_reads_in_the_cloud_elements_shape(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let by_key = expect_json(app.as_admin(Method::GET, "/elements/sfdc").send().await.unwrap(), StatusCode::OK).await;
    for field in [
        "id",
        "name",
        "key",
        "description",
        "active",
        "deleted",
        "typeOauth",
        "hub",
        "authentication",
        "private",
        "configuration",
        "resources",
        "parameters",
        "transformationsEnabled",
        "bulkDownloadEnabled",
        "bulkUploadEnabled",
        "cloneable",
        "extendable",
        "beta",
        "extended",
        "protocolType",
    ] {
        assert!(by_key.get(field).is_some(), "{field} in {by_key}");
    }
    // As seed 003's OAuth 2.0 element reads: `typeOauth` false beside `authentication.type` oauth2; an image
    // is a string even when the element has none.
    assert_eq!(
        (by_key["typeOauth"].clone(), by_key["authentication"]["type"].clone()),
        (json!(false), json!("oauth2"))
    );
    assert!(by_key["image"].is_string(), "{}", by_key["image"]);
    let resources = by_key["resources"].as_array().unwrap();
    assert!(resources.iter().any(|resource| resource["path"] == "/hubs/crm/contacts"), "{resources:?}");
    assert_eq!(by_key["private"], false);
    let configuration: Vec<&str> =
        by_key["configuration"].as_array().unwrap().iter().map(|item| item["key"].as_str().unwrap()).collect();
    assert!(configuration.starts_with(&["oauth.api.key", "oauth.api.secret", "oauth.callback.url", "oauth.scope"]));
    assert!(configuration.contains(&"hostname"));

    let id = by_key["id"].as_i64().unwrap();
    for path in [format!("/elements/{id}"), "/elements/salesforce".to_owned()] {
        let again = expect_json(app.as_admin(Method::GET, &path).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(again["id"], json!(id), "{path}");
    }
    let missing = app.as_admin(Method::GET, "/elements/no-such-element").send().await.unwrap();
    expect_error(missing, StatusCode::NOT_FOUND, "No element with key or id no-such-element").await;

    // Ids survive a restart: a second server on the same database gives the same id.
    let reopened = tether::Tether::open(app.db.config()).await.unwrap();
    assert_eq!(reopened.hub.catalog().find("sfdc").unwrap().id.0, id);
}

fn custom_definition(key: &str) -> Value {
    json!({
        "key": key,
        "name": "Local Identity",
        "hub": "general",
        "description": "A test provider on loopback.",
        "auth": "oauth2",
        "oauth": {
            "authorizationUrl": "https://{host}/auth",
            "tokenUrl": "https://{host}/token",
            "scopes": ["openid", "offline_access"]
        },
        "api": {"baseUrl": "https://{host}/api", "credentials": {"in": "bearer"}},
        "parameters": [{"key": "host", "label": "Host", "default": "localhost:4000"}]
    })
}

async fn custom_elements_round_trip_and_stay_private(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let other =
        app.hub.create_organization("Other", "boss@other.example", &tether::store::audit::Actor::Cli).await.unwrap();
    let definition = custom_definition("local-idp");

    let created = app.as_admin(Method::POST, "/elements").json(&definition).send().await.unwrap();
    let created = expect_json(created, StatusCode::OK).await;
    assert_eq!(created["private"], true);
    assert_eq!(created["key"], "local-idp");
    let read =
        expect_json(app.as_admin(Method::GET, "/elements/local-idp").send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(read["id"], created["id"]);
    assert_eq!(read["definition"]["oauth"]["scopes"], definition["oauth"]["scopes"]);
    assert_eq!(read["definition"]["parameters"][0]["default"], "localhost:4000");
    let (found, _) = list(&app, "search=local%20identity").await;
    assert_eq!(keys(&found), vec!["local-idp"]);

    // Another organization neither sees it nor can change it, and may use the same key for its own.
    let hidden = app.as_tenant(&other, Method::GET, "/elements/local-idp").send().await.unwrap();
    expect_error(hidden, StatusCode::NOT_FOUND, "No element").await;
    let by_id = app.as_tenant(&other, Method::GET, &format!("/elements/{}", created["id"])).send().await.unwrap();
    expect_error(by_id, StatusCode::NOT_FOUND, "No element").await;
    let response = app.as_tenant(&other, Method::GET, "/elements?search=local%20identity").send().await.unwrap();
    assert!(expect_json(response, StatusCode::OK).await.as_array().unwrap().is_empty());
    let removal = app.as_tenant(&other, Method::DELETE, "/elements/local-idp").send().await.unwrap();
    expect_error(removal, StatusCode::NOT_FOUND, "No element").await;
    let theirs = app.as_tenant(&other, Method::POST, "/elements").json(&definition).send().await.unwrap();
    let theirs = expect_json(theirs, StatusCode::OK).await;
    assert_ne!(theirs["id"], created["id"]);

    let mut renamed = definition.clone();
    renamed["name"] = json!("Local Identity v2");
    let replaced = app.as_admin(Method::PUT, "/elements/local-idp").json(&renamed).send().await.unwrap();
    assert_eq!(expect_json(replaced, StatusCode::OK).await["name"], "Local Identity v2");
    let read =
        expect_json(app.as_admin(Method::GET, "/elements/local-idp").send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(read["name"], "Local Identity v2");

    let deleted = app.as_admin(Method::DELETE, "/elements/local-idp").send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = app.as_admin(Method::GET, "/elements/local-idp").send().await.unwrap();
    expect_error(gone, StatusCode::NOT_FOUND, "No element").await;
    let still_theirs = app.as_tenant(&other, Method::GET, "/elements/local-idp").send().await.unwrap();
    expect_json(still_theirs, StatusCode::OK).await;
}

async fn broken_or_clashing_definitions_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut cases: Vec<(Value, StatusCode, &str)> = Vec::new();
    let mut insecure = custom_definition("insecure");
    insecure["oauth"]["tokenUrl"] = json!("http://idp.example.com/token");
    cases.push((insecure, StatusCode::BAD_REQUEST, "oauth.tokenUrl:"));
    let mut unknown_placeholder = custom_definition("placeholder");
    unknown_placeholder["api"]["baseUrl"] = json!("https://{tenant}.example.com");
    cases.push((unknown_placeholder, StatusCode::BAD_REQUEST, "api.baseUrl: uses {tenant}"));
    cases.push((custom_definition("Bad Key"), StatusCode::BAD_REQUEST, "key:"));
    let mut no_api = custom_definition("no-api");
    no_api.as_object_mut().unwrap().remove("api");
    cases.push((no_api, StatusCode::BAD_REQUEST, "missing field `api`"));
    let mut wrong_type = custom_definition("wrong-type");
    wrong_type["parameters"][0]["required"] = json!("yes");
    cases.push((wrong_type, StatusCode::BAD_REQUEST, "parameters[0].required:"));
    cases.push((custom_definition("hubspot"), StatusCode::CONFLICT, "key: `hubspot` already names an element"));
    let mut alias = custom_definition("mine");
    alias["aliases"] = json!(["salesforce"]);
    cases.push((alias, StatusCode::CONFLICT, "`salesforce` already names an element"));
    for (body, status, needle) in cases {
        let response = app.as_admin(Method::POST, "/elements").json(&body).send().await.unwrap();
        expect_error(response, status, needle).await;
    }
    let (found, _) = list(&app, "search=local%20identity").await;
    assert!(found.is_empty(), "nothing was stored");

    let built_in =
        app.as_admin(Method::PUT, "/elements/hubspot").json(&custom_definition("hubspot")).send().await.unwrap();
    expect_error(built_in, StatusCode::FORBIDDEN, "built-in").await;
    let built_in = app.as_admin(Method::DELETE, "/elements/box").send().await.unwrap();
    expect_error(built_in, StatusCode::FORBIDDEN, "built-in").await;

    let header = app.member_authorization("member@example.com").await;
    let refused = app
        .api(Method::POST, "/elements")
        .header("Authorization", header)
        .json(&custom_definition("x"))
        .send()
        .await
        .unwrap();
    expect_error(refused, StatusCode::FORBIDDEN, "admin").await;
}

async fn private_network_hosts_need_the_setting(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| config.outbound.allow_private_network = false).await;
    let mut local = custom_definition("loopback-idp");
    local["parameters"][0]["default"] = json!("127.0.0.1:4000");
    let refused = app.as_admin(Method::POST, "/elements").json(&local).send().await.unwrap();
    expect_error(refused, StatusCode::BAD_REQUEST, "oauth.authorizationUrl: https://{host}/auth names a loopback")
        .await;
    let (found, _) = list(&app, "search=local%20identity").await;
    assert!(found.is_empty());
}

async fn metadata_tells_whether_and_how_instances_hear_of_changes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (key, support, supported, methods) in [
        ("meta-none", "none", false, json!([])),
        ("meta-polling", "polling", true, json!(["polling"])),
        ("meta-webhooks", "webhooks", true, json!(["webhook"])),
        ("meta-both", "both", true, json!(["polling", "webhook"])),
    ] {
        let element = app
            .create_element(&json!({"key": key, "name": format!("Metadata {support}"), "hub": "general", "auth": "apiKey",
                "api": {"baseUrl": "https://api.example.com", "credentials": {"in": "header", "name": "x-api-key", "value": "{apiKey}"}},
                "parameters": [{"key": "apiKey", "label": "API key", "secret": true}],
                "events": {"support": support}}))
            .await;
        for named in [key.to_owned(), element.id.0.to_string()] {
            let answer = app.as_admin(Method::GET, &format!("/elements/{named}/metadata")).send().await.unwrap();
            let metadata = expect_json(answer, StatusCode::OK).await;
            assert_eq!(metadata["key"], key);
            assert_eq!(metadata["authentication"]["type"], "apiKey");
            assert_eq!(metadata["events"]["supported"], supported, "{key}");
            assert_eq!(metadata["events"]["methods"], methods, "{key}");
        }
    }
    let unknown = app.as_admin(Method::GET, "/elements/no-such-element/metadata").send().await.unwrap();
    expect_error(unknown, StatusCode::NOT_FOUND, "").await;
}
