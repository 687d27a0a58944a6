//! Elements whose calls carry an AWS Signature Version 4, checked by AWS's own Python library (`botocore`) in an
//! upstream on loopback: a query, a JSON body, a session token and the S3 rules all sign as AWS computes them, and
//! a wrong secret key is refused by the verifier.

use crate::processes::{AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ScriptServer};
use crate::utils::{Backend, TestApp, expect_json};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

crate::on_both_backends!(aws_signed_calls_pass_botocores_check);

fn element(verifier: &ScriptServer, key: &str, service: &str) -> Value {
    json!({
        "key": key, "name": format!("AWS {service}"), "hub": "general", "auth": "basic",
        "api": {
            "baseUrl": format!("{}/{service}", verifier.url),
            "credentials": {"in": "awsSigV4", "service": service, "region": "{region}"}
        },
        "parameters": [
            {"key": "region", "label": "Region", "default": "eu-west-1"},
            {"key": "accessKeyId", "label": "Access key id"},
            {"key": "secretAccessKey", "label": "Secret access key", "type": "password", "secret": true},
            {"key": "sessionToken", "label": "Session token", "type": "password", "secret": true, "required": false}
        ]
    })
}

async fn instance(app: &TestApp, key: &str, configuration: Value) -> String {
    let body = json!({"element": {"key": key}, "name": key, "configuration": configuration});
    let created =
        expect_json(app.as_admin(Method::POST, "/instances").json(&body).send().await.unwrap(), StatusCode::OK).await;
    created["token"].as_str().unwrap().to_owned()
}

async fn aws_signed_calls_pass_botocores_check(backend: Backend) {
    let verifier = ScriptServer::aws_verifier();
    let app = TestApp::spawn(backend).await;
    app.create_element(&element(&verifier, "test-aws", "execute-api")).await;
    app.create_element(&element(&verifier, "test-s3", "s3")).await;
    let keys = json!({"accessKeyId": AWS_ACCESS_KEY_ID, "secretAccessKey": AWS_SECRET_ACCESS_KEY});
    let token = instance(&app, "test-aws", keys.clone()).await;

    // A GET with a query whose order and encoding AWS's canonical form changes.
    let answer =
        app.as_instance(&token, Method::GET, "/hubs/general/items?b=2&a=one%20two&c=%2F").send().await.unwrap();
    let checked = expect_json(answer, StatusCode::OK).await;
    assert_eq!((checked["service"].as_str(), checked["region"].as_str()), (Some("execute-api"), Some("eu-west-1")));

    // A JSON body: its digest is part of the signature.
    let answer = app
        .as_instance(&token, Method::POST, "/hubs/general/items")
        .json(&json!({"name": "signed", "size": 3}))
        .send()
        .await
        .unwrap();
    let checked = expect_json(answer, StatusCode::OK).await;
    assert_eq!(checked["method"], "POST");
    assert_eq!(serde_json::from_str::<Value>(checked["body"].as_str().unwrap()).unwrap()["name"], "signed");

    // Temporary credentials: the session token goes along, signed.
    let with_session = json!({
        "accessKeyId": AWS_ACCESS_KEY_ID, "secretAccessKey": AWS_SECRET_ACCESS_KEY, "sessionToken": "FwoGZXIvYXdzEXAMPLE", "region": "us-west-2"
    });
    let session_token = instance(&app, "test-aws", with_session).await;
    let answer = app.as_instance(&session_token, Method::GET, "/hubs/general/items").send().await.unwrap();
    let checked = expect_json(answer, StatusCode::OK).await;
    assert_eq!(
        (checked["sessionToken"].as_str(), checked["region"].as_str()),
        (Some("FwoGZXIvYXdzEXAMPLE"), Some("us-west-2"))
    );
    assert!(checked["signedHeaders"].as_array().unwrap().contains(&json!("x-amz-security-token")), "{checked}");

    // S3 signs the payload's digest in a header and keeps the path as it is.
    let s3_token = instance(&app, "test-s3", keys).await;
    let answer = app
        .as_instance(&s3_token, Method::PUT, "/hubs/general/bucket/a%20key/notes.txt")
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    let checked = expect_json(answer, StatusCode::OK).await;
    assert!(checked["signedHeaders"].as_array().unwrap().contains(&json!("x-amz-content-sha256")), "{checked}");

    // The wrong secret key makes a signature AWS refuses; the refusal reaches the caller as the provider's.
    let wrong = json!({"accessKeyId": AWS_ACCESS_KEY_ID, "secretAccessKey": "not/the/secret"});
    let wrong_token = instance(&app, "test-aws", wrong).await;
    let answer = app.as_instance(&wrong_token, Method::GET, "/hubs/general/items").send().await.unwrap();
    let refused = expect_json(answer, StatusCode::FORBIDDEN).await;
    assert_eq!(refused["message"], "signature mismatch");
}
