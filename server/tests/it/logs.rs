//! Logs at debug level carry request ids and never a secret: the real binary's output is captured and searched.
//! The same run reads the instance health gauges from `/metrics`, in a process of their own.

use crate::instances::{basic_element, oauth_configuration};
use crate::oauth::{CALLBACK, provider_element, query_of, seed_query};
use crate::processes::{OAUTH_CLIENT_SECRET, OAuthProvider, RunningBinary};
use crate::utils::authorization;
use serde_json::{Value, json};

async fn json_of(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_logs_name_requests_and_hide_every_secret() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let provider = OAuthProvider::start(&[CALLBACK], false);
    let server = RunningBinary::start(&data_dir, &[("TETHER_LOG", "debug"), ("TETHER_ALLOW_PRIVATE_NETWORK", "true")]);
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let base = server.base_url.clone();
    let organization_secret = server.printed("organization secret");
    let user_secret = server.printed("user secret");
    let password = server.printed("password");
    let email = server.printed("email");
    let header = authorization(&user_secret, &organization_secret);

    let accounts =
        http.get(format!("{base}/elements/api-v2/accounts")).header("Authorization", &header).send().await.unwrap();
    let request_id = accounts.headers()["x-request-id"].to_str().unwrap().to_owned();
    let accounts: Value = accounts.json().await.unwrap();
    let account = accounts[0]["id"].as_i64().unwrap();

    let wrong = http
        .get(format!("{base}/elements/api-v2/accounts"))
        .header("Authorization", authorization("guessed-user-secret-000", &organization_secret))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let created = json_of(
        http.post(format!("{base}/elements/api-v2/accounts/{account}/users"))
            .header("Authorization", &header)
            .json(&json!({"emailAddress": "grace@example.com", "password": "chosen-password-4711"})),
    )
    .await;
    let new_secret = created["secret"].as_str().expect("created").to_owned();

    let signed_in = http
        .post(format!("{base}/api/sign_in"))
        .header("Accept", "text/html")
        .form(&[("email", email.as_str()), ("password", password.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 302);
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap().to_owned();
    let session = cookie.split(';').next().unwrap().to_owned();
    let session_token = session.trim_start_matches("tether_session=").to_owned();
    let page = http.get(format!("{base}/account")).header("Cookie", &session).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let refused = http
        .post(format!("{base}/api/sign_in"))
        .form(&[("email", email.as_str()), ("password", "wrong-password-31337")])
        .send()
        .await
        .unwrap();
    assert!(!refused.status().is_success());

    // Instances: a basic one with a password, an OAuth one from a code, read by id and by token, then deleted.
    let api = |method: reqwest::Method, path: &str| {
        http.request(method, format!("{base}/elements/api-v2{path}")).header("Authorization", &header)
    };
    for element in [basic_element(), provider_element(&provider)] {
        assert_eq!(api(reqwest::Method::POST, "/elements").json(&element).send().await.unwrap().status(), 200);
    }
    let basic = json!({"name": "Logged", "configuration": {"account": "acme", "username": "ada", "password": "instance-password-8080"}});
    let basic = json_of(api(reqwest::Method::POST, "/elements/test-basic/instances").json(&basic)).await;
    let basic_token = basic["token"].as_str().expect("created").to_owned();
    let url = json_of(api(reqwest::Method::GET, &format!("/elements/test-idp/oauth/url?{}", seed_query()))).await;
    let code = query_of(&provider.authorize(url["oauthUrl"].as_str().unwrap(), "alice", true).await)["code"].clone();
    let oauth = json!({"element": {"key": "test-idp"}, "name": "OAuth", "providerData": {"code": code}, "configuration": oauth_configuration()});
    let oauth = json_of(api(reqwest::Method::POST, "/instances").json(&oauth)).await;
    let oauth_token = oauth["token"].as_str().expect("created").to_owned();
    let by_token = http
        .get(format!("{base}/elements/api-v2/instances"))
        .header("Authorization", format!("{header}, Element {basic_token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_token.status(), 200);
    let disabled = api(reqwest::Method::DELETE, &format!("/instances/{}/enabled", basic["id"])).send().await.unwrap();
    assert_eq!(disabled.status(), 200);
    let metrics = http.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    for line in [
        "tether_instances{state=\"valid\"} 1",
        "tether_instances{state=\"disabled\"} 1",
        "tether_instances{state=\"invalid\"} 0",
    ] {
        assert!(metrics.lines().any(|found| found == line), "/metrics lacks {line}:\n{metrics}");
    }
    for id in [&basic["id"], &oauth["id"]] {
        assert_eq!(api(reqwest::Method::DELETE, &format!("/instances/{id}")).send().await.unwrap().status(), 200);
    }

    let (stdout, logs) = server.stop();
    assert!(logs.contains("DEBUG"), "debug logging was on: {logs:.2000}");
    let lines_with_id = logs.lines().filter(|line| line.contains(&request_id)).count();
    assert!(lines_with_id >= 2, "the request's log lines carry its id {request_id}: {logs:.3000}");
    assert!(logs.contains("status=401"), "refusals are logged");

    for secret in [
        &organization_secret,
        &user_secret,
        &password,
        &new_secret,
        &session_token,
        "guessed-user-secret-000",
        "chosen-password-4711",
        "wrong-password-31337",
        "instance-password-8080",
        &basic_token,
        &oauth_token,
        &code,
        OAUTH_CLIENT_SECRET,
    ] {
        assert!(secret.len() >= 12);
        assert!(!logs.contains(secret), "a secret starting {:.5} reached the log", secret);
    }
    // The first-start secrets go to standard output, once, for the operator.
    assert!(stdout.contains(&organization_secret) && stdout.contains(&password));
}
