//! A client written for Cloud Elements, changed only in its base URL: it sends configuration values as strings,
//! read-only fields and fields Tether does not know, `PUT`s back what a `GET` answered, manages instances under
//! their element, changes a configuration item found by key, and deletes; none of it is refused.

use crate::on_both_backends;
use crate::proxy::echo_upstream;
use crate::utils::{Backend, TestApp, expect_error, expect_json};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(a_cloud_elements_client_runs_its_whole_life_cycle);

/// What the echo upstream heard for one call through the instance with `token`.
async fn heard(app: &TestApp, token: &str) -> Value {
    let response = app.as_instance(token, Method::GET, "/hubs/general/contacts").send().await.unwrap();
    expect_json(response, StatusCode::CREATED).await
}

async fn a_cloud_elements_client_runs_its_whole_life_cycle(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let upstream = echo_upstream().await;
    app.create_element(&json!({
        "key": "ce-echo", "name": "Echo", "hub": "general", "auth": "custom",
        "api": {"baseUrl": format!("{upstream}/api"), "credentials": {"in": "header", "name": "X-Api-Token", "value": "Token {token}"},
            "headers": {"X-Tenant": "{tenant}"}},
        "parameters": [{"key": "tenant", "label": "Tenant"}, {"key": "token", "label": "Token", "secret": true}]
    }))
    .await;

    // Created with the fields a client copies from a template, and one Tether does not know.
    let body = json!({
        "name": "CE client",
        "configuration": {"tenant": "acme", "token": "upstream-secret", "pagination.max": "200",
            "document.tagging": "false", "vendor.password": "kept sealed"},
        "providerData": {"secret": "not kept"}, "disabled": false, "valid": true,
        "createdDate": "2017-08-07T18:46:38Z", "someFutureField": 1
    });
    let created = app.as_admin(Method::POST, "/elements/ce-echo/instances").json(&body).send().await.unwrap();
    let warning = created.headers().get("warning").map(|value| value.to_str().unwrap().to_owned());
    let created = expect_json(created, StatusCode::OK).await;
    let warning = warning.expect("a Warning header names the unknown field");
    assert!(warning.contains("someFutureField") && !warning.contains("disabled"), "{warning}");
    let (id, token) = (created["id"].as_i64().unwrap(), created["token"].as_str().unwrap().to_owned());
    assert_eq!(heard(&app, &token).await["headers"]["x-api-token"], "Token upstream-secret");

    // PUT back exactly what GET answered: accepted, nothing ignored as unknown, the masked secret kept.
    let path = format!("/elements/ce-echo/instances/{id}");
    let read = expect_json(app.as_admin(Method::GET, &path).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(read["configuration"]["token"], "********");
    let put = app.as_admin(Method::PUT, &path).json(&read).send().await.unwrap();
    assert!(put.headers().get("warning").is_none(), "every field of the answer is known");
    assert_eq!(expect_json(put, StatusCode::OK).await["id"], id);
    assert_eq!(heard(&app, &token).await["headers"]["x-api-token"], "Token upstream-secret");

    // Markup in a name or tag is not kept.
    let renamed = app
        .as_admin(Method::PATCH, &path)
        .json(&json!({"name": "<a href=\"https://x.example\">CE <b>client</b></a>", "tags": ["<i>vip</i>"]}));
    let renamed = expect_json(renamed.send().await.unwrap(), StatusCode::OK).await;
    assert_eq!((renamed["name"].as_str(), renamed["tags"].clone()), (Some("CE client"), json!(["vip"])));

    // The id and token sent back must be this instance's.
    let mut other_id = read.clone();
    other_id["id"] = json!(id + 1);
    let refused = app.as_admin(Method::PUT, &path).json(&other_id).send().await.unwrap();
    expect_error(refused, StatusCode::BAD_REQUEST, "id").await;
    let mut other_token = read.clone();
    other_token["token"] = json!("not-the-token");
    let refused = app.as_admin(Method::PUT, &path).json(&other_token).send().await.unwrap();
    expect_error(refused, StatusCode::BAD_REQUEST, "token").await;

    // Keys Tether has no use for are kept and listed; one named like a secret is masked.
    assert_eq!(read["configuration"]["pagination.max"], "200");
    assert_eq!(read["configuration"]["vendor.password"], "********");

    // A configuration item found by its key, then changed by its id, with a string.
    let items = app.as_admin(Method::GET, &format!("/instances/{id}/configuration")).send().await.unwrap();
    let items = expect_json(items, StatusCode::OK).await;
    let item = |key: &str| items.as_array().unwrap().iter().find(|item| item["key"] == key).cloned();
    assert_eq!(item("document.tagging").expect("a key of the client's own")["propertyValue"], "false");
    assert_eq!(item("vendor.password").expect("a secret of the client's own")["propertyValue"], "********");
    // The element's keys the client never set are listed with their defaults.
    assert_eq!(item("filter.response.nulls").expect("the element's key")["propertyValue"], "true");
    let tenant = items.as_array().unwrap().iter().find(|item| item["key"] == "tenant").expect("the tenant item");
    let item_path = format!("/instances/{id}/configuration/{}", tenant["id"]);
    let changed =
        app.as_admin(Method::PATCH, &item_path).json(&json!({"propertyValue": "globex"})).send().await.unwrap();
    assert_eq!(expect_json(changed, StatusCode::OK).await["propertyValue"], "globex");
    assert_eq!(heard(&app, &token).await["headers"]["x-tenant"], "globex");

    // `filter.response.nulls`, true by default: the echo's `"query": null` is left out; false keeps it.
    let answer = heard(&app, &token).await;
    assert!(answer.get("query").is_none() && answer.get("path").is_some(), "{answer}");
    let nulls_path = format!("/instances/{id}/configuration/filter.response.nulls");
    let changed = app.as_admin(Method::PATCH, &nulls_path).json(&json!({"propertyValue": "FALSE"})).send().await;
    assert_eq!(expect_json(changed.unwrap(), StatusCode::OK).await["propertyValue"], "false");
    assert_eq!(heard(&app, &token).await.get("query"), Some(&Value::Null));
    let refused = app.as_admin(Method::PATCH, &nulls_path).json(&json!({"propertyValue": "maybe"})).send().await;
    expect_error(refused.unwrap(), StatusCode::BAD_REQUEST, "filter.response.nulls").await;

    // Deleted under its element: 200, and its token is refused on the proxy from then on.
    let deleted = app.as_admin(Method::DELETE, &path).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);
    let refused = app.as_instance(&token, Method::GET, "/hubs/general/contacts").send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
}
