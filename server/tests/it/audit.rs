//! The audit log over the REST API: sign-ins (refused too), instance changes and token views, filtered by actor,
//! action and time, for admins only, and with no secret value in any record.

use crate::instances::basic_element;
use crate::on_both_backends;
use crate::utils::{Backend, TestApp, expect_error, expect_json};
use app::hub::{Identity, Instances};
use app::instances::InstanceId;
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tether::store::sign_in_failures::FORGET_AFTER_MILLIS;

on_both_backends!(
    the_audit_log_records_who_did_what_and_no_secret,
    refusals_for_emails_naming_no_user_are_kept_a_week,
    listing_instances_writes_no_audit_record,
);

async fn audit(app: &TestApp, query: &str) -> Vec<Value> {
    let response = app.as_admin(Method::GET, &format!("/audit{query}")).send().await.unwrap();
    expect_json(response, StatusCode::OK).await.as_array().unwrap().clone()
}

fn actions(records: &[Value]) -> Vec<&str> {
    records.iter().map(|record| record["action"].as_str().unwrap()).collect()
}

async fn the_audit_log_records_who_did_what_and_no_secret(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let started = chrono::Utc::now();
    let admin = format!("user:{}", app.first.admin.id);
    let wrong_password = "not-the-password-9f3b";
    let refused = app.hub.sign_in("admin@tether.local", &SecretString::from(wrong_password)).await;
    assert!(refused.is_err());
    let session = crate::utils::open_session(&app.hub, "admin@tether.local", &app.first.password).await;

    app.create_element(&basic_element()).await;
    let instance_password = "instance-password-7c1d";
    let body = json!({"name": "Audited", "configuration": {"account": "acme", "username": "ada", "password": instance_password}});
    let created = app.as_admin(Method::POST, "/elements/test-basic/instances").json(&body).send().await.unwrap();
    let created = expect_json(created, StatusCode::OK).await;
    let id = created["id"].as_i64().unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    let revealed = app.hub.reveal_instance_token(&session.caller, InstanceId(id)).await.unwrap();
    assert_eq!(revealed, token);
    let rename = json!({"name": "Audited again"});
    expect_json(
        app.as_admin(Method::PATCH, &format!("/instances/{id}")).json(&rename).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    for method in [Method::DELETE, Method::PUT] {
        let toggled = app.as_admin(method, &format!("/instances/{id}/enabled")).send().await.unwrap();
        expect_json(toggled, StatusCode::OK).await;
    }
    let deleted = app.as_admin(Method::DELETE, &format!("/instances/{id}")).send().await.unwrap();
    assert!(deleted.status().is_success());

    // Each action is there, newest first, with its actor and time.
    let everything = audit(&app, "?pageSize=200").await;
    let listed = actions(&everything);
    for action in [
        "session.refused",
        "session.opened",
        "element.created",
        "instance.created",
        "instance.token_viewed",
        "instance.updated",
        "instance.disabled",
        "instance.enabled",
        "instance.deleted",
    ] {
        assert!(listed.contains(&action), "{action} is missing from {listed:?}");
    }
    let position = |action: &str| listed.iter().position(|listed| *listed == action).unwrap();
    assert!(position("instance.deleted") < position("instance.created"), "newest first: {listed:?}");
    for record in &everything {
        let at = chrono::DateTime::parse_from_rfc3339(record["at"].as_str().unwrap()).unwrap();
        assert!(at >= started - chrono::Duration::seconds(1), "{record}");
        assert!(!record["actor"].as_str().unwrap().is_empty(), "{record}");
    }
    let refusal = everything.iter().find(|record| record["action"] == "session.refused").unwrap();
    assert_eq!(refusal["actor"], "email:admin@tether.local");
    let viewed = everything.iter().find(|record| record["action"] == "instance.token_viewed").unwrap();
    assert_eq!(
        (viewed["actor"].as_str(), viewed["target"].as_str()),
        (Some(admin.as_str()), Some(format!("instance:{id}").as_str()))
    );

    // No record holds a secret value: passwords, API secrets, the instance token or its configured password.
    let text = serde_json::to_string(&everything).unwrap();
    for secret in [
        wrong_password.to_owned(),
        app.first.password.expose_secret().to_owned(),
        app.first.user_secret.expose_secret().to_owned(),
        app.first.organization_secret.expose_secret().to_owned(),
        session.token.expose_secret().to_owned(),
        token.clone(),
        instance_password.to_owned(),
    ] {
        assert!(!text.contains(&secret), "an audit record holds a secret value");
    }

    // Filters: an action, every action under a prefix, an actor, a time window; paging.
    assert_eq!(actions(&audit(&app, "?action=instance.created").await), ["instance.created"]);
    let instance_actions = actions(&audit(&app, "?action=instance.").await).len();
    assert_eq!(instance_actions, 6, "created, token_viewed, updated, disabled, enabled, deleted");
    let by_email = audit(&app, "?actor=email:admin@tether.local").await;
    assert_eq!(actions(&by_email), ["session.refused"]);
    let future = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let query = format!("?from={}", url::form_urlencoded::byte_serialize(future.as_bytes()).collect::<String>());
    assert!(audit(&app, &query).await.is_empty());
    assert_eq!(audit(&app, "?pageSize=2").await.len(), 2);
    assert_eq!(audit(&app, "?pageSize=2&page=2").await[0], everything[2]);

    // Bad filters are named; members may not read the log.
    let bad = app.as_admin(Method::GET, "/audit?who=me").send().await.unwrap();
    expect_error(bad, StatusCode::BAD_REQUEST, "who").await;
    let header = app.member_authorization("member@example.com").await;
    let forbidden = app.api(Method::GET, "/audit").header("Authorization", header).send().await.unwrap();
    expect_error(forbidden, StatusCode::FORBIDDEN, "audit log").await;
}

/// Refused sign-ins for emails that name no user belong to no organization, so no one lists them: a new one
/// forgets those older than a week, and nothing else.
async fn refusals_for_emails_naming_no_user_are_kept_a_week(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let pool = app.hub.store().pool();
    let week_ago = tether::store::now_millis() - FORGET_AFTER_MILLIS;
    let organization = app.first.organization.id.0;
    for (organization, actor, action, at) in [
        (None, "email:old@example.com", "session.refused", week_ago - 1_000),
        (None, "email:recent@example.com", "session.refused", week_ago + 60_000),
        (None, "system", "secret.read", week_ago - 1_000),
        (Some(organization), "email:admin@tether.local", "session.refused", week_ago - 1_000),
    ] {
        sqlx::query("INSERT INTO audit_log (organization_id, actor, action, target, at) VALUES ($1, $2, $3, $2, $4)")
            .bind(organization)
            .bind(actor)
            .bind(action)
            .bind(at)
            .execute(pool)
            .await
            .unwrap();
    }
    let actors = || async {
        let mut actors: Vec<String> = sqlx::query_scalar("SELECT actor FROM audit_log").fetch_all(pool).await.unwrap();
        actors.sort();
        actors
    };
    let mut expected = actors().await;
    let refused = app.hub.sign_in("nobody@example.com", &SecretString::from("a-guess")).await;
    assert!(refused.is_err());
    expected.retain(|actor| actor != "email:old@example.com");
    expected.push("email:nobody@example.com".into());
    expected.sort();
    assert_eq!(actors().await, expected, "only the week-old refusal without an organization is forgotten");
}

async fn audit_rows(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(app.hub.store().pool()).await.unwrap()
}

/// Listing reads every row's token, for the REST API's answer and the console's Instances page alike; neither
/// writes a record per row (or at all), while one token viewed on its own is recorded.
async fn listing_instances_writes_no_audit_record(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_element(&basic_element()).await;
    const INSTANCES: usize = 100;
    for n in 0..INSTANCES {
        let configuration = json!({"account": "acme", "username": format!("user{n}"), "password": "pw"});
        app.create_instance(
            &json!({"element": {"key": "test-basic"}, "name": format!("Basic {n}"), "configuration": configuration}),
        )
        .await;
    }
    let session = crate::utils::open_session(&app.hub, &app.first.admin.email_address, &app.first.password).await;
    let before = audit_rows(&app).await;
    let listed = app.as_admin(Method::GET, "/instances?pageSize=200").send().await.unwrap();
    let listed = expect_json(listed, StatusCode::OK).await;
    assert_eq!(listed.as_array().unwrap().len(), INSTANCES);
    assert!(listed[0]["token"].as_str().is_some_and(|token| token.len() >= 32), "the list still carries tokens");
    // The console's listing, page after page, and the instance page of each.
    let mut shown = 0;
    for page in 1.. {
        let query = app::instance_table::InstanceTableQuery { page, ..Default::default() };
        let cards = app::hub::InstanceTable::instance_table(&*app.hub, &session.caller, query).await.unwrap().cards;
        if cards.is_empty() {
            break;
        }
        for card in &cards {
            app::hub::InstanceHistory::instance_story(&*app.hub, &session.caller, card.id).await.unwrap();
        }
        shown += cards.len();
    }
    assert_eq!(shown, INSTANCES);
    assert_eq!(audit_rows(&app).await, before, "listing wrote no audit record");

    let id = listed[0]["id"].as_i64().unwrap();
    app.hub.reveal_instance_token(&session.caller, InstanceId(id)).await.unwrap();
    assert!(audit_rows(&app).await > before, "a token viewed on its own is recorded");
}
