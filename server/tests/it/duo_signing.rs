//! The built-in `cisco-duo-admin` element signs each call as Duo wants, checked by Duo's own Python client
//! (`duo_client`) in an upstream on loopback: a query whose order and encoding the canonical form changes and a
//! form body both pass, and a wrong secret key is refused by the verifier.

use crate::processes::{DUO_INTEGRATION_KEY, DUO_SECRET_KEY, ScriptServer};
use crate::provider_emulator::at_emulator;
use crate::utils::{Backend, TestApp, expect_json};
use reqwest::{Method, StatusCode};
use serde_json::json;

crate::on_both_backends!(duo_signed_calls_pass_duo_clients_check);

async fn instance(app: &TestApp, secret_key: &str) -> String {
    let configuration =
        json!({"hostname": "api-tether01.duosecurity.com", "username": DUO_INTEGRATION_KEY, "password": secret_key});
    let body = json!({"element": {"key": "verified-duo"}, "name": "duo", "configuration": configuration});
    let created = app.as_admin(Method::POST, "/instances").json(&body).send().await.unwrap();
    expect_json(created, StatusCode::OK).await["token"].as_str().unwrap().to_owned()
}

async fn duo_signed_calls_pass_duo_clients_check(backend: Backend) {
    let verifier = ScriptServer::duo_verifier();
    let app = TestApp::spawn(backend).await;
    let element = app.as_admin(Method::GET, "/elements/cisco-duo-admin").send().await.unwrap();
    let mut definition = expect_json(element, StatusCode::OK).await["definition"].clone();
    assert_eq!(definition["api"]["credentials"], json!({"in": "duo"}));
    definition["key"] = json!("verified-duo");
    definition["aliases"] = json!([]);
    definition["api"]["baseUrl"] = at_emulator(&definition["api"]["baseUrl"], &format!("{}/duo", verifier.url));
    app.create_element(&definition).await;
    let token = instance(&app, DUO_SECRET_KEY).await;
    let hub = definition["hub"].as_str().unwrap();

    // Parameters sorted as pairs of encoded names and values: `a` before `a-b`, spaces as `%20`.
    let path = format!("/hubs/{hub}/admin/v1/users?username=ada%20l&a-b=1&a=2&limit=10");
    let answer = app.as_instance(&token, Method::GET, &path).send().await.unwrap();
    let checked = expect_json(answer, StatusCode::OK).await;
    assert_eq!(checked["path"], "/duo/admin/v1/users");
    assert_eq!(checked["params"]["username"], json!(["ada l"]));

    // A form body's fields are signed as parameters.
    let answer = app
        .as_instance(&token, Method::POST, &format!("/hubs/{hub}/admin/v1/users"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("realname=First%20Last&username=root")
        .send()
        .await
        .unwrap();
    let checked = expect_json(answer, StatusCode::OK).await;
    assert_eq!(
        (checked["method"].as_str(), checked["params"]["realname"].clone()),
        (Some("POST"), json!(["First Last"]))
    );

    // Another secret key makes another signature, which Duo refuses.
    let wrong = instance(&app, "wrongSecretKey0123456789abcdefghijklmnopq").await;
    let answer = app.as_instance(&wrong, Method::GET, &format!("/hubs/{hub}/admin/v1/users")).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
}
