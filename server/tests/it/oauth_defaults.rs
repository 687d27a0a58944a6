//! The authorization URLs of the providers Cloud Elements clients use most, as each provider documents them:
//! the scopes they require, each parameter once, and Infusionsoft's account server given as a URL; and Cloud
//! Elements' shorter `GET /{elementKey}/oauth/url`.

use crate::on_both_backends;
use crate::utils::{Backend, TestApp, expect_json};
use reqwest::{Method, StatusCode};
use std::collections::BTreeMap;

on_both_backends!(the_providers_get_the_authorization_urls_they_document);

const CLIENT: &str = "apiKey=client-id&apiSecret=client-secret&callbackUrl=https%3A%2F%2Fapp.example%2Fcallback";

/// The authorization URL `GET /elements/{element}/oauth/url` answers: its host and path, and its query with each
/// name's values in the order given.
async fn authorization_url(app: &TestApp, element: &str, query: &str) -> (String, BTreeMap<String, Vec<String>>) {
    let path = format!("/elements/{element}/oauth/url?{CLIENT}{query}");
    let answer = expect_json(app.as_admin(Method::GET, &path).send().await.unwrap(), StatusCode::OK).await;
    let url = url::Url::parse(answer["oauthUrl"].as_str().unwrap()).unwrap();
    let mut parameters: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in url.query_pairs() {
        parameters.entry(name.into_owned()).or_default().push(value.into_owned());
    }
    (format!("{}{}", url.host_str().unwrap(), url.path()), parameters)
}

fn one<'a>(parameters: &'a BTreeMap<String, Vec<String>>, name: &str) -> &'a str {
    match parameters.get(name).map(Vec::as_slice) {
        Some([value]) => value,
        other => panic!("{name} should be sent once, not {other:?}"),
    }
}

async fn the_providers_get_the_authorization_urls_they_document(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let (address, sfdc) = authorization_url(&app, "sfdc", "").await;
    assert_eq!(address, "login.salesforce.com/services/oauth2/authorize");
    assert_eq!(one(&sfdc, "scope"), "api refresh_token");
    assert_eq!(one(&sfdc, "prompt"), "consent");
    // Cloud Elements' shorter path answers the same URL.
    let long = app.as_admin(Method::GET, &format!("/elements/sfdc/oauth/url?{CLIENT}")).send().await.unwrap();
    let short = app.as_admin(Method::GET, &format!("/sfdc/oauth/url?{CLIENT}")).send().await.unwrap();
    let (long, short) = (expect_json(long, StatusCode::OK).await, expect_json(short, StatusCode::OK).await);
    assert_eq!(short, long);
    let element = expect_json(app.as_admin(Method::GET, "/elements/sfdc").send().await.unwrap(), StatusCode::OK).await;
    assert!(element["definition"]["oauth"]["revokeUrl"].to_string().contains("/services/oauth2/revoke"));

    let (_, hubspot) = authorization_url(&app, "hubspot", "").await;
    let scopes: Vec<&str> = one(&hubspot, "scope").split(' ').collect();
    for needed in ["oauth", "crm.objects.contacts.read", "crm.objects.companies.write", "crm.objects.deals.read"] {
        assert!(scopes.contains(&needed), "{needed} in {scopes:?}");
    }
    let (_, narrowed) = authorization_url(&app, "hubspot", "&scope=crm.objects.contacts.read").await;
    assert_eq!(one(&narrowed, "scope"), "crm.objects.contacts.read", "the caller's scope replaces the default");

    let (_, quickbooks) = authorization_url(&app, "quickbooks", "").await;
    assert_eq!(one(&quickbooks, "scope"), "com.intuit.quickbooks.accounting");

    let (_, keap) = authorization_url(&app, "keap", "").await;
    assert_eq!(one(&keap, "response_type"), "code");

    let site = "&siteAddress=https%3A%2F%2Fdt123.infusionsoft.com";
    let (address, infusionsoft) = authorization_url(&app, "infusionsoftcrm", site).await;
    assert_eq!(address, "signin.infusionsoft.com/app/oauth/authorize");
    assert_eq!(one(&infusionsoft, "scope"), "full");

    for parameters in [&sfdc, &hubspot, &quickbooks, &keap, &infusionsoft] {
        for (name, values) in parameters {
            assert_eq!(values.len(), 1, "{name} sent {} times", values.len());
        }
        for name in ["response_type", "client_id", "redirect_uri", "state"] {
            one(parameters, name);
        }
    }
}
