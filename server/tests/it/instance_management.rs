//! Managing element instances over the REST API: listing, changing, re-authenticating, disabling, deleting,
//! configuration items, the id-less routes of the `Element` token, and saved OAuth apps.

use crate::instances::{basic_element, code_from, instance_count, oauth_configuration};
use crate::oauth::{CALLBACK, authorization_url, query_of, setup};
use crate::on_both_backends;
use crate::processes::OAUTH_CLIENT_SECRET;
use crate::utils::{Backend, TestApp, expect_error, expect_json};
use app::hub::OAuthFlows;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tether::store::vault::VaultId;

on_both_backends!(
    instances_are_listed_changed_and_configured,
    the_element_token_names_its_instance_until_disabled_or_deleted,
    reauthentication_by_patch_keeps_the_id_and_the_token,
    deleting_an_oauth_instance_revokes_its_grant,
    a_saved_oauth_app_stands_in_for_the_client,
    other_organizations_cannot_reach_an_instance,
);

async fn create_basic(app: &TestApp, name: &str, tags: &[&str]) -> Value {
    let body = json!({
        "name": name,
        "tags": tags,
        "configuration": {"account": "acme", "username": "ada", "password": "first-password"}
    });
    let response = app.as_admin(Method::POST, "/elements/test-basic/instances").json(&body).send().await.unwrap();
    expect_json(response, StatusCode::OK).await
}

async fn basic_app(backend: Backend) -> TestApp {
    let app = TestApp::spawn(backend).await;
    app.create_element(&basic_element()).await;
    app
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array().unwrap().iter().map(|instance| instance["name"].as_str().unwrap()).collect()
}

async fn get(app: &TestApp, path: &str) -> Value {
    expect_json(app.as_admin(Method::GET, path).send().await.unwrap(), StatusCode::OK).await
}

/// The instance's secrets as the vault holds them.
pub async fn stored_secrets(app: &TestApp, id: i64) -> Value {
    let vault_id: i64 = sqlx::query_scalar("SELECT secrets_vault_id FROM instances WHERE id = $1")
        .bind(id)
        .fetch_one(app.hub.store().pool())
        .await
        .unwrap();
    let secrets = app.hub.vault().read(VaultId(vault_id), &tether::store::audit::Actor::System).await.unwrap();
    serde_json::from_str(secrecy::ExposeSecret::expose_secret(&secrets)).unwrap()
}

async fn instances_are_listed_changed_and_configured(backend: Backend) {
    let app = basic_app(backend).await;
    let first = create_basic(&app, "First", &["blue", "prod"]).await;
    create_basic(&app, "Second", &["blue"]).await;
    create_basic(&app, "Third", &[]).await;

    assert_eq!(names(&get(&app, "/instances").await), ["First", "Second", "Third"]);
    assert_eq!(names(&get(&app, "/instances?tags[]=blue").await), ["First", "Second"]);
    assert_eq!(names(&get(&app, "/instances?tags%5B%5D=blue&tags%5B%5D=prod").await), ["First"]);
    assert_eq!(names(&get(&app, "/instances?element=test-basic&page=2&pageSize=2").await), ["Third"]);
    // Pages count only the instances that carry the tags: the database skips rows only when no tags are asked for.
    assert_eq!(names(&get(&app, "/instances?tags[]=blue&pageSize=1").await), ["First"]);
    assert_eq!(names(&get(&app, "/instances?tags[]=blue&page=2&pageSize=1").await), ["Second"]);
    assert_eq!(names(&get(&app, "/instances?tags[]=blue&page=3&pageSize=1").await), Vec::<&str>::new());
    assert_eq!(names(&get(&app, "/instances?page=3&pageSize=1").await), ["Third"]);
    assert_eq!(names(&get(&app, "/instances?element=sfdc").await), Vec::<&str>::new());
    let unknown = app.as_admin(Method::GET, "/instances?element=nope").send().await.unwrap();
    expect_error(unknown, StatusCode::NOT_FOUND, "No element").await;

    let id = first["id"].as_i64().unwrap();
    let path = format!("/instances/{id}");
    let renamed = app.as_admin(Method::PATCH, &path).json(&json!({"name": "Renamed", "tags": ["green"]})).send();
    let renamed = expect_json(renamed.await.unwrap(), StatusCode::OK).await;
    assert_eq!((renamed["name"].as_str(), &renamed["tags"]), (Some("Renamed"), &json!(["green"])), "tags replaced");
    assert_eq!(renamed["token"], first["token"]);
    assert_eq!(names(&get(&app, "/instances?tags[]=green").await), ["Renamed"]);

    let changed = app
        .as_admin(Method::PATCH, &path)
        .json(&json!({"configuration": {"password": "second-password", "username": "grace"}}))
        .send();
    let changed = expect_json(changed.await.unwrap(), StatusCode::OK).await;
    assert_eq!(changed["configuration"]["username"], "grace");
    assert_eq!(changed["configuration"]["password"], "********");
    assert_eq!(stored_secrets(&app, id).await["password"], "second-password");

    let items = get(&app, &format!("{path}/configuration")).await;
    let items = items.as_array().unwrap();
    let password = items.iter().find(|item| item["key"] == "password").unwrap();
    assert_eq!((password["propertyValue"].as_str(), password["secret"].as_bool()), (Some("********"), Some(true)));
    assert_eq!(password["name"], "Password");
    let username = items.iter().find(|item| item["key"] == "username").unwrap();
    let item_path = format!("{path}/configuration/{}", username["id"]);
    assert_eq!(get(&app, &item_path).await, *username);
    let patched = app.as_admin(Method::PATCH, &item_path).json(&json!({"propertyValue": "hopper"})).send();
    let patched = expect_json(patched.await.unwrap(), StatusCode::OK).await;
    assert_eq!((patched["propertyValue"].as_str(), patched["id"].clone()), (Some("hopper"), username["id"].clone()));
    assert_eq!(get(&app, &path).await["configuration"]["username"], "hopper");

    for (body, status, needle) in [
        (json!({}), StatusCode::BAD_REQUEST, "body: nothing to change"),
        (json!({"name": " "}), StatusCode::BAD_REQUEST, "name:"),
        (json!({"tags": [""]}), StatusCode::BAD_REQUEST, "tags[0]:"),
        (json!({"configuration": {"account": "NOT VALID"}}), StatusCode::BAD_REQUEST, "account: does not match"),
        (
            json!({"configuration": {"filter.response.nulls": "sometimes"}}),
            StatusCode::BAD_REQUEST,
            "configuration.filter.response.nulls: must be true or false",
        ),
        (
            json!({"configuration": {"oauth.user.token": "planted"}}),
            StatusCode::BAD_REQUEST,
            "configuration.oauth.user.token: is set from the provider's token answers",
        ),
        (json!({"element": {"key": "sfdc"}, "name": "x"}), StatusCode::BAD_REQUEST, "element: instance"),
        // An unknown field is ignored (with a `Warning` header), so it alone changes nothing.
        (json!({"nickname": "x"}), StatusCode::BAD_REQUEST, "body: nothing to change"),
        (json!({"providerData": {"code": "abc"}}), StatusCode::BAD_REQUEST, "does not authenticate with OAuth 2.0"),
    ] {
        let response = app.as_admin(Method::PATCH, &path).json(&body).send().await.unwrap();
        expect_error(response, status, needle).await;
    }
    let missing =
        app.as_admin(Method::PATCH, &format!("{path}/configuration/12345")).json(&json!({"propertyValue": "x"}));
    expect_error(missing.send().await.unwrap(), StatusCode::NOT_FOUND, "no configuration item").await;
    assert_eq!(get(&app, &path).await["name"], "Renamed", "refused changes changed nothing");
}

async fn the_element_token_names_its_instance_until_disabled_or_deleted(backend: Backend) {
    let app = basic_app(backend).await;
    let created = create_basic(&app, "Tokened", &["a"]).await;
    create_basic(&app, "Other", &[]).await;
    let token = created["token"].as_str().unwrap();
    let id = created["id"].as_i64().unwrap();

    let own =
        expect_json(app.as_instance(token, Method::GET, "/instances").send().await.unwrap(), StatusCode::OK).await;
    assert_eq!((own["id"].as_i64(), own["name"].as_str()), (Some(id), Some("Tokened")));
    let renamed = app.as_instance(token, Method::PATCH, "/instances").json(&json!({"name": "Via token"})).send();
    assert_eq!(expect_json(renamed.await.unwrap(), StatusCode::OK).await["name"], "Via token");
    let put = app.as_instance(token, Method::PUT, "/instances").json(&json!({"tags": ["b"]})).send();
    assert_eq!(expect_json(put.await.unwrap(), StatusCode::OK).await["tags"], json!(["b"]));
    let items = app.as_instance(token, Method::GET, "/instances/configuration").send().await.unwrap();
    assert!(expect_json(items, StatusCode::OK).await.as_array().unwrap().iter().any(|item| item["key"] == "account"));
    let without = app.as_admin(Method::GET, "/instances/configuration").send().await.unwrap();
    expect_error(without, StatusCode::UNAUTHORIZED, "Element <token>").await;
    let forged = app.as_instance("not-a-token", Method::GET, "/instances").send().await.unwrap();
    expect_error(forged, StatusCode::UNAUTHORIZED, "names no instance").await;

    let disabled = app.as_admin(Method::DELETE, &format!("/instances/{id}/enabled")).send().await.unwrap();
    let disabled = expect_json(disabled, StatusCode::OK).await;
    assert_eq!((disabled["disabled"].as_bool(), disabled["health"]["state"].as_str()), (Some(true), Some("disabled")));
    let refused = app.as_instance(token, Method::GET, "/instances").send().await.unwrap();
    expect_error(refused, StatusCode::FORBIDDEN, "disabled").await;
    let enabled = app.as_admin(Method::PUT, &format!("/instances/{id}/enabled")).send().await.unwrap();
    assert_eq!(expect_json(enabled, StatusCode::OK).await["disabled"], false);
    expect_json(app.as_instance(token, Method::GET, "/instances").send().await.unwrap(), StatusCode::OK).await;

    let deleted = app.as_admin(Method::DELETE, &format!("/instances/{id}")).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);
    let gone = app.as_instance(token, Method::GET, "/instances").send().await.unwrap();
    expect_error(gone, StatusCode::UNAUTHORIZED, "names no instance").await;
    let by_id = app.as_admin(Method::GET, &format!("/instances/{id}")).send().await.unwrap();
    expect_error(by_id, StatusCode::NOT_FOUND, "No instance").await;
    assert_eq!(instance_count(&app).await, 1);
    let orphans: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM vault WHERE purpose LIKE 'instance.%'")
        .fetch_one(app.hub.store().pool())
        .await
        .unwrap();
    assert_eq!(orphans, 2, "the deleted instance's vault entries are gone; the other's two remain");
}

async fn reauthentication_by_patch_keeps_the_id_and_the_token(backend: Backend) {
    let (app, provider) = setup(backend, false).await;
    let (code, _) = code_from(&app, &provider, "").await;
    let body = json!({"element": {"key": "test-idp"}, "name": "Reauth", "providerData": {"code": code}, "configuration": oauth_configuration()});
    let created =
        expect_json(app.as_admin(Method::POST, "/instances").json(&body).send().await.unwrap(), StatusCode::OK).await;
    let id = created["id"].as_i64().unwrap();
    let before = stored_secrets(&app, id).await;
    sqlx::query("UPDATE instances SET valid = 0 WHERE id = $1").bind(id).execute(app.hub.store().pool()).await.unwrap();

    let (code, _) = code_from(&app, &provider, "").await;
    let patch = json!({"providerData": {"code": code}});
    let reauthenticated = app.as_admin(Method::PATCH, &format!("/instances/{id}")).json(&patch).send().await.unwrap();
    let reauthenticated = expect_json(reauthenticated, StatusCode::OK).await;
    assert_eq!(reauthenticated["id"], created["id"]);
    assert_eq!(reauthenticated["token"], created["token"]);
    assert_eq!(reauthenticated["valid"], true);
    let after = stored_secrets(&app, id).await;
    assert_ne!(after["oauth.user.token"], before["oauth.user.token"], "new provider tokens");
    assert_eq!(after["oauth.api.secret"], OAUTH_CLIENT_SECRET);

    // The used code again: the provider refuses it and the instance keeps its tokens.
    let replayed = app.as_admin(Method::PATCH, &format!("/instances/{id}")).json(&patch).send().await.unwrap();
    expect_error(replayed, StatusCode::BAD_REQUEST, "refused").await;
    assert_eq!(stored_secrets(&app, id).await["oauth.user.token"], after["oauth.user.token"]);
    let oauth_key = app
        .as_admin(Method::PATCH, &format!("/instances/{id}"))
        .json(&json!({"configuration": {"oauth.api.key": "other"}}))
        .send()
        .await
        .unwrap();
    expect_error(oauth_key, StatusCode::BAD_REQUEST, "changes only by re-authenticating").await;
}

async fn deleting_an_oauth_instance_revokes_its_grant(backend: Backend) {
    let (app, provider) = setup(backend, false).await;
    let (code, _) = code_from(&app, &provider, "").await;
    let body = json!({"element": {"key": "test-idp"}, "name": "Revoked", "providerData": {"code": code}, "configuration": oauth_configuration()});
    let id = app.create_instance(&body).await.id.0;
    let refresh_token = stored_secrets(&app, id).await["oauth.user.refresh_token"].as_str().unwrap().to_owned();
    let deleted = app.as_admin(Method::DELETE, &format!("/instances/{id}")).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);
    let refused: Value = provider.refresh(&refresh_token).await.json().await.unwrap();
    assert_eq!(refused["error"], "invalid_grant", "the provider no longer honours the grant: {refused}");
}

async fn a_saved_oauth_app_stands_in_for_the_client(backend: Backend) {
    let (app, provider) = setup(backend, false).await;
    let missing = app.as_admin(Method::GET, "/elements/test-idp/oauth/app").send().await.unwrap();
    expect_error(missing, StatusCode::NOT_FOUND, "no saved OAuth app").await;
    let saved = json!({"apiKey": "tether-post", "apiSecret": OAUTH_CLIENT_SECRET, "callbackUrl": CALLBACK});
    let response = app.as_admin(Method::PUT, "/elements/test-idp/oauth/app").json(&saved).send().await.unwrap();
    let shown = expect_json(response, StatusCode::OK).await;
    assert_eq!(
        shown,
        json!({"element": "test-idp", "apiKey": "tether-post", "apiSecret": "********", "callbackUrl": CALLBACK})
    );
    assert_eq!(get(&app, "/elements/test-idp/oauth/app").await, shown);
    // The Account page's list holds it too, masked; another organization's list does not.
    {
        let session = crate::utils::open_session(&app.hub, "admin@tether.local", &app.first.password).await;
        let listed = app.hub.oauth_apps(&session.caller).await.unwrap();
        assert_eq!(serde_json::to_value(&listed).unwrap(), json!([shown]));
        let other = app
            .hub
            .create_organization("Other", "boss@other.example", &tether::store::audit::Actor::Cli)
            .await
            .unwrap();
        let theirs = crate::utils::open_session(&app.hub, "boss@other.example", &other.password).await;
        assert!(app.hub.oauth_apps(&theirs.caller).await.unwrap().is_empty());
    }

    let url = authorization_url(&app, "").await;
    assert_eq!(query_of(&url)["client_id"], "tether-post");
    assert_eq!(query_of(&url)["redirect_uri"], CALLBACK);
    let code = query_of(&provider.authorize(url.as_str(), "alice", true).await)["code"].clone();
    let body = json!({"element": {"key": "test-idp"}, "name": "Saved app", "providerData": {"code": code}});
    let created =
        expect_json(app.as_admin(Method::POST, "/instances").json(&body).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(created["configuration"]["oauth.api.key"], "tether-post");

    for (body, needle) in [
        (json!({"apiKey": "k", "apiSecret": "s", "callbackUrl": "not a url"}), "callbackUrl: must be"),
        (json!({"apiKey": " ", "apiSecret": "s", "callbackUrl": CALLBACK}), "apiKey:"),
        (json!({"apiKey": "k", "callbackUrl": CALLBACK}), "missing field `apiSecret`"),
    ] {
        let response = app.as_admin(Method::PUT, "/elements/test-idp/oauth/app").json(&body).send().await.unwrap();
        expect_error(response, StatusCode::BAD_REQUEST, needle).await;
    }
    let deleted = app.as_admin(Method::DELETE, "/elements/test-idp/oauth/app").send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let response = app.as_admin(Method::GET, "/elements/test-idp/oauth/url").send().await.unwrap();
    expect_error(response, StatusCode::BAD_REQUEST, "apiKey: required").await;
}

async fn other_organizations_cannot_reach_an_instance(backend: Backend) {
    let app = basic_app(backend).await;
    let created = create_basic(&app, "Private", &[]).await;
    let id = created["id"].as_i64().unwrap();
    let other =
        app.hub.create_organization("Other", "boss@other.example", &tether::store::audit::Actor::Cli).await.unwrap();
    for (method, path) in [
        (Method::GET, format!("/instances/{id}")),
        (Method::PATCH, format!("/instances/{id}")),
        (Method::DELETE, format!("/instances/{id}")),
        (Method::PUT, format!("/instances/{id}/enabled")),
        (Method::GET, format!("/instances/{id}/configuration")),
    ] {
        let response =
            app.as_tenant(&other, method.clone(), &path).json(&json!({"name": "Taken"})).send().await.unwrap();
        expect_error(response, StatusCode::NOT_FOUND, "No instance").await;
    }
    let listed = app.as_tenant(&other, Method::GET, "/instances").send().await.unwrap();
    assert_eq!(expect_json(listed, StatusCode::OK).await, json!([]));
    let header = crate::utils::authorization(
        secrecy::ExposeSecret::expose_secret(&other.user_secret),
        secrecy::ExposeSecret::expose_secret(&other.organization_secret),
    );
    let with_token = app
        .api(Method::GET, "/instances")
        .header("Authorization", format!("{header}, Element {}", created["token"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    expect_error(with_token, StatusCode::UNAUTHORIZED, "names no instance").await;
    assert_eq!(get(&app, &format!("/instances/{id}")).await["name"], "Private");
}
