//! The five seed documents (`shared/reference/00*.txt`) replayed request by request against a fresh Tether: the
//! built-in sandbox stands in for the provider wherever a code or token must be real, and the bodies are the
//! seeds' own with their placeholders filled in. Each step checks the status and fields the seed shows.

use crate::sandbox::{sandbox_app, sandbox_client_secret, sandbox_consent};
use crate::utils::{TestApp, authorization, expect_error, expect_json};
use reqwest::{Method, StatusCode, Url};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use std::collections::HashMap;

const CALLBACK: &str = "http://127.0.0.1:9/callback";

fn query_of(url: &str) -> HashMap<String, String> {
    Url::parse(url).unwrap().query_pairs().into_owned().collect()
}

fn encoded(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The sandbox's OAuth app as the seeds' `apiKey`, `apiSecret` and `callbackUrl`.
fn sandbox_query(secret: &str) -> String {
    format!("apiKey={}&apiSecret={secret}&callbackUrl={}", tether::sandbox::CLIENT_ID, encoded(CALLBACK))
}

fn sandbox_configuration(secret: &str) -> Value {
    json!({"oauth.api.key": tether::sandbox::CLIENT_ID, "oauth.api.secret": secret, "oauth.callback.url": CALLBACK})
}

/// Asks `path` for an authorization URL, consents at the sandbox, and answers the callback's query.
async fn consent_through(app: &TestApp, path: &str) -> HashMap<String, String> {
    let answer = expect_json(app.as_admin(Method::GET, path).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(answer["element"], "sandbox", "{answer}");
    let callback = sandbox_consent(answer["oauthUrl"].as_str().unwrap(), "ada", true).await;
    callback.query_pairs().into_owned().collect()
}

async fn create(app: &TestApp, body: &Value) -> Value {
    expect_json(app.as_admin(Method::POST, "/instances").json(body).send().await.unwrap(), StatusCode::OK).await
}

/// A call through the instance to the sandbox's contacts: its status.
async fn contacts_status(app: &TestApp, token: &str) -> StatusCode {
    app.as_instance(token, Method::GET, "/hubs/crm/contacts").send().await.unwrap().status()
}

/// The user and organization secrets with an instance's `Element` token: the seeds' "full authorization header".
fn full_header(app: &TestApp, token: &str) -> String {
    let first = &app.first;
    format!(
        "{}, Element {token}",
        authorization(first.user_secret.expose_secret(), first.organization_secret.expose_secret())
    )
}

/// Seed 000's polling configuration, as written.
pub(crate) fn seed_000_poller_configuration() -> Value {
    json!({"contacts": {
        "url": "/hubs/crm/contacts?where=lastUpdated>'${gmtDate:yyyy-MM-dd'T'HH:mm:ss'Z'}'",
        "idField": "id",
        "datesConfiguration": {
            "updatedDateField": "_info.lastUpdated", "updatedDateFormat": "yyyy-MM-dd'T'HH:mm:ss'Z'",
            "updatedDateTimezone": "GMT", "createdDateField": "_info.lastUpdated",
            "createdDateFormat": "yyyy-MM-dd'T'HH:mm:ss'Z'", "createdDateTimezone": "GMT"}}})
}

/// Seed 000: the OAuth 2.0, basic, polling and webhook bodies of `POST /instances`, provisioning from an existing
/// refresh token, and resetting a user's two-factor phone through the accounts API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_000_element_instances_guide() {
    // The seed's basic element is defined here with its API on this loopback Tether.
    let app = sandbox_app(|config| config.outbound.allow_private_network = true).await;
    let secret = sandbox_client_secret(&app).await;

    // The OAuth 2.0 payload, with objects asked for.
    let returned = consent_through(&app, &format!("/elements/sandbox/oauth/url?{}", sandbox_query(&secret))).await;
    let oauth = create(
        &app,
        &json!({
            "element": {"key": "sandbox"},
            "providerData": {"code": returned["code"]},
            "configuration": sandbox_configuration(&secret),
            "tags": ["Tag Name 1", "Tag Name 2"],
            "name": "Instance Name",
            "retrieveObjectsAfterInstantiation": true
        }),
    )
    .await;
    assert_eq!(
        (oauth["name"].clone(), oauth["tags"].clone()),
        (json!("Instance Name"), json!(["Tag Name 1", "Tag Name 2"]))
    );
    let objects = oauth["objects"].as_array().expect("objects, as asked");
    assert!(objects.iter().all(|object| object["type"] == "vendor" && object["name"].is_string()), "{objects:?}");
    assert_eq!(contacts_status(&app, oauth["token"].as_str().unwrap()).await, StatusCode::OK);

    // The basic, polling and webhook payloads, on an element keyed as the seed's placeholder `elementKey` reads
    // in Tether's lower-case keys.
    app.create_element(&json!({
        "key": "elementkey", "name": "Seed element", "hub": "crm", "auth": "basic",
        "api": {"baseUrl": format!("{}/sandbox/api/v1", app.base_url), "credentials": {"in": "basic"}},
        "parameters": [{"key": "username", "label": "User name"}, {"key": "password", "label": "Password", "secret": true}],
        "events": {"support": "both", "webhook": {"changesField": "events", "objectTypeField": "objectType",
            "objectIdField": "objectId", "eventTypeField": "eventType", "dateField": "date"}}
    }))
    .await;
    let basic = create(
        &app,
        &json!({
            "element": {"key": "elementkey"},
            "configuration": {"username": "xxxxxxxxxxxxxxxxxx", "password": "xxxxxxxxxxxxxxxxxxxxxx"},
            "tags": ["Tag Name 1", "Tag Name 2"],
            "name": "<Instance Name>",
            "retrieveObjectsAfterInstantiation": true
        }),
    )
    .await;
    // The seed's placeholder name keeps its text; markup would not be kept, and `<Instance Name>` is not markup.
    assert_eq!(basic["name"], "<Instance Name>");
    assert_eq!(basic["configuration"]["password"], "********");
    let polling = create(
        &app,
        &json!({
            "element": {"key": "elementkey"},
            "configuration": {
                "username": "xxxxxxxxxxxxxxxxxx", "password": "xxxxxxxxxxxxxxxxxxxxxx",
                "event.notification.enabled": true, "event.vendor.type": "polling",
                "event.notification.callback.url": "http://mycoolapp.com",
                "event.poller.refresh_interval": "15",
                "event.notification.signature.key": "xxxxxxxxxxxxxxxxxxxxxxxxx",
                "event.poller.configuration": seed_000_poller_configuration()
            },
            "tags": ["<Add_Your_Tag>"],
            "name": "<INSTANCE_NAME>"
        }),
    )
    .await;
    assert_eq!(polling["eventsEnabled"], true);
    assert_eq!(polling["configuration"]["event.vendor.type"], "polling");
    assert_eq!(polling["configuration"]["event.notification.signature.key"], "********");
    let webhooks = create(
        &app,
        &json!({
            "element": {"key": "elementkey"},
            "configuration": {
                "username": "xxxxxxxxxxxxxxxxxx", "password": "xxxxxxxxxxxxxxxxxxxxxx",
                "event.notification.enabled": true, "event.vendor.type": "webhooks",
                "event.notification.callback.url": "http://mycoolapp.com",
                "event.notification.signature.key": "xxxxxxxxxxxxxxxxxxxxxxxxx"
            },
            "tags": ["<Add_Your_Tag>"],
            "name": "<INSTANCE_NAME>"
        }),
    )
    .await;
    assert_eq!(
        (webhooks["eventsEnabled"].clone(), webhooks["configuration"]["event.vendor.type"].clone()),
        (json!(true), json!("webhooks"))
    );

    // Provisioning from an existing refresh token: the OAuth instance's, read as an admin may.
    let item = format!("/instances/{}/configuration/oauth.user.refresh_token", oauth["id"]);
    let refresh_token = expect_json(app.as_admin(Method::GET, &item).send().await.unwrap(), StatusCode::OK).await;
    let refresh_token = refresh_token["propertyValue"].as_str().unwrap().to_owned();
    assert_ne!(refresh_token, "********");
    let provisioned = create(
        &app,
        &json!({
            "element": {"key": "sandbox"},
            "configuration": {
                "oauth.user.refresh_token": refresh_token,
                "oauth.api.key": tether::sandbox::CLIENT_ID,
                "oauth.api.secret": secret,
                "oauth.scope": "crm"
            },
            "name": "Creating instance from refresh token",
            "externalAuthentication": "initial"
        }),
    )
    .await;
    assert_eq!(provisioned["externalAuthentication"], "initial");
    assert_eq!(contacts_status(&app, provisioned["token"].as_str().unwrap()).await, StatusCode::OK);

    // Resetting a user's two-factor phone: the account, its users, then the user's phone.
    let accounts = expect_json(app.as_admin(Method::GET, "/accounts").send().await.unwrap(), StatusCode::OK).await;
    let account = accounts[0]["id"].clone();
    let users = app.as_admin(Method::GET, &format!("/accounts/{account}/users")).send().await.unwrap();
    let users = expect_json(users, StatusCode::OK).await;
    let user = users.as_array().unwrap().iter().find(|user| user["emailAddress"].is_string()).expect("a user").clone();
    let path = format!("/accounts/{account}/users/{}", user["id"]);
    let patched = app.as_admin(Method::PATCH, &path).json(&json!({"phone": "+1 415 555 0123"})).send().await.unwrap();
    assert_eq!(expect_json(patched, StatusCode::OK).await["phone"], "+14155550123");
}

/// Seed 001: read the provider token through `GET /instances` with the full header, revoke it at the provider,
/// see calls refused with `INVALID_ACCESS_TOKEN`, then re-authenticate with `PATCH /instances` and a new code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_001_revoke_and_reauthenticate() {
    let app = sandbox_app(|_| {}).await;
    let secret = sandbox_client_secret(&app).await;
    let returned = consent_through(&app, &format!("/elements/sandbox/oauth/url?{}", sandbox_query(&secret))).await;
    let body = json!({"element": {"key": "sandbox"}, "providerData": {"code": returned["code"]},
        "configuration": sandbox_configuration(&secret), "name": "Seed 001"});
    let created = create(&app, &body).await;
    let (id, token) = (created["id"].clone(), created["token"].as_str().unwrap().to_owned());

    // 1–2. GET /instances with the full header; an admin asking to reveal reads the provider's tokens.
    let read = app.api(Method::GET, "/instances?reveal=true").header("Authorization", full_header(&app, &token));
    let read = expect_json(read.send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(read["id"], id);
    let access_token = read["configuration"]["oauth.user.token"].as_str().unwrap().to_owned();
    let refresh_token = read["configuration"]["oauth.user.refresh_token"].as_str().unwrap().to_owned();
    assert!(access_token != "********" && refresh_token != "********");

    // The same by item, for an admin; each read is in the audit log. A member reads the mask, and may not reveal.
    let item = format!("/instances/{id}/configuration/oauth.user.token");
    let by_item = expect_json(app.as_admin(Method::GET, &item).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(by_item["propertyValue"], access_token.as_str());
    let audit = expect_json(
        app.as_admin(Method::GET, "/audit?action=instance.provider_token_viewed").send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(audit.as_array().unwrap().len(), 2, "{audit}");
    assert!(audit.as_array().unwrap().iter().all(|record| record["target"] == format!("instance:{id}")), "{audit}");
    assert!(!audit.to_string().contains(&access_token), "the audit log holds no token");
    let member = app.member_authorization("member@example.com").await;
    let masked = app.api(Method::GET, &item).header("Authorization", &member).send().await.unwrap();
    assert_eq!(expect_json(masked, StatusCode::OK).await["propertyValue"], "********");
    let path = format!("/instances/{id}?reveal=true");
    let refused = app.api(Method::GET, &path).header("Authorization", &member).send().await.unwrap();
    expect_error(refused, StatusCode::FORBIDDEN, "organization admin").await;

    // 3. Revoked at the provider: the access token, then the grant with the refresh token, as Box takes them.
    let revoke = format!("{}/sandbox/oauth/revoke", app.base_url);
    for revoked in [&access_token, &refresh_token] {
        let form = [("client_id", tether::sandbox::CLIENT_ID), ("client_secret", secret.as_str()), ("token", revoked)];
        let answer = app.http.post(&revoke).form(&form).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
    }

    // 4. A call through the instance is refused with INVALID_ACCESS_TOKEN.
    let refused = app.as_instance(&token, Method::GET, "/hubs/crm/contacts").send().await.unwrap();
    expect_error(refused, StatusCode::UNAUTHORIZED, "INVALID_ACCESS_TOKEN").await;

    // 5–7. A new URL, consent, and PATCH /instances with the full header and the new code.
    let returned = consent_through(&app, &format!("/elements/sandbox/oauth/url?{}", sandbox_query(&secret))).await;
    let patch = app
        .api(Method::PATCH, "/instances")
        .header("Authorization", full_header(&app, &token))
        .json(&json!({"providerData": {"code": returned["code"]}}));
    let patched = expect_json(patch.send().await.unwrap(), StatusCode::OK).await;
    assert_eq!((patched["id"].clone(), patched["token"].as_str()), (id.clone(), Some(token.as_str())));
    assert_eq!(patched["valid"], true);

    // 8. Calls work again.
    assert_eq!(contacts_status(&app, &token).await, StatusCode::OK);

    // A Cloud Elements client may re-provision with PUT and a whole instance body: same id and token, and the
    // answer carries no providerData.
    let returned = consent_through(&app, &format!("/elements/sandbox/oauth/url?{}", sandbox_query(&secret))).await;
    let whole = json!({"element": {"key": "sandbox"}, "providerData": {"code": returned["code"]},
        "configuration": sandbox_configuration(&secret), "name": "Seed 001, again", "tags": ["again"]});
    let put = app.as_admin(Method::PUT, &format!("/instances/{id}")).json(&whole).send().await.unwrap();
    let put = expect_json(put, StatusCode::OK).await;
    assert_eq!((put["id"].clone(), put["token"].as_str()), (id, Some(token.as_str())));
    assert_eq!((put["name"].as_str(), put["providerData"].clone()), (Some("Seed 001, again"), json!({})));
    assert_eq!(contacts_status(&app, &token).await, StatusCode::OK);
}

/// Seed 002: `GET /{elementKey}/oauth/url`, the callback's code and state, and `POST /instances` with the same
/// key, secret and callback URL; and the seed's own Salesforce request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_002_generic_oauth2_steps() {
    let app = sandbox_app(|_| {}).await;
    let secret = sandbox_client_secret(&app).await;
    let returned = consent_through(&app, &format!("/sandbox/oauth/url?{}", sandbox_query(&secret))).await;
    assert_eq!(returned["state"], "sandbox");
    let created = create(
        &app,
        &json!({
            "element": {"key": "sandbox"},
            "providerData": {"code": returned["code"]},
            "configuration": {"oauth.callback.url": CALLBACK, "oauth.api.key": tether::sandbox::CLIENT_ID,
                "oauth.api.secret": secret},
            "tags": ["api tag"],
            "name": "sfdc api"
        }),
    )
    .await;
    assert_eq!(contacts_status(&app, created["token"].as_str().unwrap()).await, StatusCode::OK);

    let sfdc = "/sfdc/oauth/url?apiKey=3MVG9A2kN3Bn17huqpbZ.99EPdhIK6o1gB7E3Y42_swsBVklSkNNChnvIGTxb0GAzTUrZKrnMLbbazmLkeZrt&apiSecret=5996596135756415222&callbackUrl=https://console.cloud-elements.com/elements/jsp/home.jsp";
    let answer = expect_json(app.as_admin(Method::GET, sfdc).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(answer["element"], "sfdc");
    let url = answer["oauthUrl"].as_str().unwrap();
    assert!(url.starts_with("https://login.salesforce.com/services/oauth2/authorize?"), "{url}");
    let query = query_of(url);
    assert_eq!(query["response_type"], "code");
    assert_eq!(
        query["client_id"],
        "3MVG9A2kN3Bn17huqpbZ.99EPdhIK6o1gB7E3Y42_swsBVklSkNNChnvIGTxb0GAzTUrZKrnMLbbazmLkeZrt"
    );
    assert_eq!(query["redirect_uri"], "https://console.cloud-elements.com/elements/jsp/home.jsp");
    assert_eq!(query["state"], "sfdc");
    // Tether asks what the REST API needs (the seed's `full` is broader than needed), and never sends the secret.
    assert_eq!(query["scope"], "api refresh_token");
    assert!(!query.contains_key("client_secret"), "{url}");
}

/// Seed 003: Infusionsoft REST's URL request as written (its callback URL mangled and all), then `POST /instances`
/// with the seed's body, answered field for field in the shape of the seed's example response.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_003_infusionsoft_rest_and_the_instance_shape() {
    let app = sandbox_app(|_| {}).await;
    // The seed's callback URL decodes to `https:://www.mycoolapp.com*uth`, which no provider would redirect to:
    // Tether says so rather than make a URL that cannot work. With the URL the seed meant, the answer is the seed's.
    let seed_url = "/elements/infusionsoftrest/oauth/url?apiKey=Rand0MAP1-key&apiSecret=fak3AP1-s3Cr3t&callbackUrl=https:%3A%2F%2Fwww.mycoolapp.com%2auth";
    let refused = app.as_admin(Method::GET, seed_url).send().await.unwrap();
    expect_error(refused, StatusCode::BAD_REQUEST, "callbackUrl: must be an absolute http(s) URL").await;
    let meant = seed_url.replace("https:%3A%2F%2Fwww.mycoolapp.com%2auth", "https%3A%2F%2Fwww.mycoolapp.com%2Fauth");
    let answer = expect_json(app.as_admin(Method::GET, &meant).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(answer["element"], "infusionsoftrest");
    let url = answer["oauthUrl"].as_str().unwrap();
    assert!(url.starts_with("https://signin.infusionsoft.com/app/oauth/authorize?"), "{url}");
    let query = query_of(url);
    assert_eq!((query["client_id"].as_str(), query["response_type"].as_str()), ("Rand0MAP1-key", "code"));
    assert_eq!(query["state"], "infusionsoftrest");
    assert_eq!(query["redirect_uri"], "https://www.mycoolapp.com/auth");

    let secret = sandbox_client_secret(&app).await;
    let returned = consent_through(&app, &format!("/elements/sandbox/oauth/url?{}", sandbox_query(&secret))).await;
    let code = returned["code"].clone();
    let created = create(
        &app,
        &json!({
            "element": {"key": "sandbox"},
            "providerData": {"code": code},
            "configuration": sandbox_configuration(&secret),
            "tags": ["Docs"],
            "name": "API Instance"
        }),
    )
    .await;
    let created_date = created["createdDate"].as_str().unwrap();
    let seconds = chrono::NaiveDateTime::parse_from_str(created_date, "%Y-%m-%dT%H:%M:%SZ");
    assert!(seconds.is_ok(), "createdDate to the second, as 2017-08-07T18:46:38Z: {created_date}");
    assert!(created["id"].is_i64() && created["token"].is_string());
    assert_eq!(created["name"], "API Instance");
    let element = &created["element"];
    for (field, expected) in [
        ("key", json!("sandbox")),
        ("active", json!(true)),
        ("deleted", json!(false)),
        ("typeOauth", json!(false)),
        ("trialAccount", json!(false)),
        ("beta", json!(false)),
        ("authentication", json!({"type": "oauth2"})),
        ("extended", json!(false)),
        ("hub", json!("crm")),
        ("protocolType", json!("http")),
        ("private", json!(false)),
    ] {
        assert_eq!(element[field], expected, "element.{field}");
    }
    for field in ["name", "description", "image"] {
        assert!(element[field].is_string(), "element.{field} is a string: {}", element[field]);
    }
    for field in ["resources", "parameters"] {
        assert!(element[field].is_array(), "element.{field} is a list");
    }
    for field in ["transformationsEnabled", "bulkDownloadEnabled", "bulkUploadEnabled", "cloneable", "extendable"] {
        assert!(element[field].is_boolean(), "element.{field} is a boolean");
    }
    assert_eq!(created["elementId"], element["id"]);
    for (field, expected) in [
        ("tags", json!(["Docs"])),
        ("provisionInteractions", json!([])),
        ("valid", json!(true)),
        ("disabled", json!(false)),
        ("maxCacheSize", json!(0)),
        ("cacheTimeToLive", json!(0)),
        ("providerData", json!({"code": code})),
        ("eventsEnabled", json!(false)),
        ("traceLoggingEnabled", json!(false)),
        ("cachingEnabled", json!(false)),
        ("externalAuthentication", json!("none")),
    ] {
        assert_eq!(created[field], expected, "{field}");
    }
    assert!(created["configuration"].is_object() && created["user"]["id"].is_i64());
    // The code belongs to the create answer only.
    let read = app.as_admin(Method::GET, &format!("/instances/{}", created["id"])).send().await.unwrap();
    assert_eq!(expect_json(read, StatusCode::OK).await["providerData"], json!({}));
}

/// Seed 004: Infusionsoft's URL request with and without `siteAddress`, then `POST /instances` with the seed's
/// body: its `infusionsoft.*` keys, which the sandbox does not read, are kept (the private key sealed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_004_infusionsoft_with_its_own_keys() {
    let app = sandbox_app(|_| {}).await;
    for extra in ["", "&siteAddress=https://dt123.infusionsoft.com"] {
        let path = format!(
            "/elements/infusionsoftcrm/oauth/url?apiKey=fake_api_key&apiSecret=fake_api_secret&callbackUrl=https://www.mycoolapp.com/auth&state=infusionsoftcrm{extra}"
        );
        let answer = expect_json(app.as_admin(Method::GET, &path).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(answer["element"], "infusionsoftcrm");
        let url = answer["oauthUrl"].as_str().unwrap();
        assert!(url.starts_with("https://signin.infusionsoft.com/app/oauth/authorize?"), "{url}");
        let query = query_of(url);
        assert_eq!((query["client_id"].as_str(), query["state"].as_str()), ("fake_api_key", "infusionsoftcrm"));
        assert_eq!(query["redirect_uri"], "https://www.mycoolapp.com/auth");
    }

    let secret = sandbox_client_secret(&app).await;
    let returned = consent_through(&app, &format!("/elements/sandbox/oauth/url?{}", sandbox_query(&secret))).await;
    let created = create(
        &app,
        &json!({
            "element": {"key": "sandbox"},
            "providerData": {"code": returned["code"]},
            "configuration": {
                "oauth.callback.url": CALLBACK,
                "oauth.api.key": tether::sandbox::CLIENT_ID,
                "oauth.api.secret": secret,
                "infusionsoft.server": "dt123.infusionsoft.com",
                "infusionsoft.private.key": "47dxxxxxxxxxxxxxxxxxxxx"
            },
            "tags": ["Docs"],
            "name": "API Instance"
        }),
    )
    .await;
    assert_eq!(created["configuration"]["infusionsoft.server"], "dt123.infusionsoft.com");
    assert_eq!(created["configuration"]["infusionsoft.private.key"], "********");
    assert_eq!(contacts_status(&app, created["token"].as_str().unwrap()).await, StatusCode::OK);
}
