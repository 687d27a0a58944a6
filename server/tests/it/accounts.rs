//! The accounts and users endpoints: good secrets, bad secrets, cross-tenant denial and bad input.

use crate::on_both_backends;
use crate::utils::{Backend, TestApp, authorization, expect_error, expect_json};
use app::hub::Accounts;
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

on_both_backends!(
    admin_lists_accounts_and_users,
    missing_or_wrong_secrets_get_401,
    created_user_gets_a_working_secret_shown_once,
    rotating_a_secret_retires_the_old_one_at_once,
    a_rotated_secret_works_through_its_grace_period_only,
    bad_input_gets_400_naming_the_field_and_stores_nothing,
    another_organization_is_invisible,
    members_are_limited_to_themselves,
    patch_changes_profile_and_phone,
    unknown_routes_and_oversized_bodies_get_json_errors,
);

async fn users_of(app: &TestApp, account: i64) -> Vec<Value> {
    let response = app.as_admin(Method::GET, &format!("/accounts/{account}/users")).send().await.unwrap();
    expect_json(response, StatusCode::OK).await.as_array().unwrap().clone()
}

async fn admin_lists_accounts_and_users(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let accounts = expect_json(app.as_admin(Method::GET, "/accounts").send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(accounts.as_array().unwrap().len(), 1, "{accounts}");
    assert_eq!(accounts[0]["id"], json!(app.account_id()));
    assert_eq!(accounts[0]["name"], "Default");
    assert_eq!(accounts[0]["defaultAccount"], true);

    let users = users_of(&app, app.account_id()).await;
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["emailAddress"], "admin@tether.local");
    assert_eq!(users[0]["role"], "admin");
    let text = serde_json::to_string(&users).unwrap();
    assert!(!text.contains("secret") && !text.contains("password"), "no secret fields in listings: {text}");
}

async fn missing_or_wrong_secrets_get_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = app.first.user_secret.expose_secret().to_owned();
    let organization = app.first.organization_secret.expose_secret().to_owned();
    let other =
        app.hub.create_organization("Other", "boss@other.example", &tether::store::audit::Actor::Cli).await.unwrap();

    let no_header = app.api(Method::GET, "/accounts").send().await.unwrap();
    expect_error(no_header, StatusCode::UNAUTHORIZED, "Authorization header is missing").await;

    for (header, needle) in [
        (authorization("wrong", &organization), "Invalid Organization or User secret"),
        (authorization(&user, "wrong"), "Invalid Organization or User secret"),
        (format!("User {user}"), "Organization secret is missing"),
        (format!("Organization {organization}"), "User secret is missing"),
        (format!("Bearer {user}"), "unknown Authorization part"),
        // A real user secret with another organization's real secret.
        (authorization(&user, other.organization_secret.expose_secret()), "Invalid Organization or User secret"),
        // Secrets swapped between the two parts.
        (authorization(&organization, &user), "Invalid Organization or User secret"),
    ] {
        let response = app.api(Method::GET, "/accounts").header("Authorization", &header).send().await.unwrap();
        expect_error(response, StatusCode::UNAUTHORIZED, needle).await;
    }

    // Parts in another order, odd spacing and an Element part are all accepted.
    let reordered = format!("  Organization {organization} ,User   {user}, Element some-instance-token ");
    let response = app.api(Method::GET, "/accounts").header("Authorization", reordered).send().await.unwrap();
    expect_json(response, StatusCode::OK).await;
}

async fn created_user_gets_a_working_secret_shown_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let path = format!("/accounts/{}/users", app.account_id());
    let created = app
        .as_admin(Method::POST, &path)
        .json(&json!({"emailAddress": "Ada@Example.com", "firstName": "Ada", "lastName": "Lovelace", "phone": "+44 20 7946 0958"}))
        .send()
        .await
        .unwrap();
    let created = expect_json(created, StatusCode::OK).await;
    assert_eq!(created["emailAddress"], "ada@example.com");
    assert_eq!(created["role"], "member");
    assert_eq!(created["phone"], "+442079460958");
    let secret = created["secret"].as_str().expect("secret revealed on creation").to_owned();
    let password = created["password"].as_str().expect("generated password revealed").to_owned();
    assert!(secret.len() >= 43 && password.len() >= 12);

    // The new secret works, and a member sees only their own account.
    let header = authorization(&secret, app.first.organization_secret.expose_secret());
    let accounts = app.api(Method::GET, "/accounts").header("Authorization", &header).send().await.unwrap();
    assert_eq!(expect_json(accounts, StatusCode::OK).await.as_array().unwrap().len(), 1);

    // Later reads never show it again, and the database holds only its digest.
    let listing = serde_json::to_string(&users_of(&app, app.account_id()).await).unwrap();
    assert!(listing.contains("ada@example.com") && !listing.contains(&secret));
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT secret_hash FROM api_secrets").fetch_all(app.hub.store().pool()).await.unwrap();
    assert!(stored.iter().all(|hash| hash != &secret && hash.len() == 64));

    // A chosen password is not echoed back.
    let chosen = app
        .as_admin(Method::POST, &path)
        .json(&json!({"emailAddress": "bob@example.com", "password": "a long enough password"}))
        .send()
        .await
        .unwrap();
    let chosen = expect_json(chosen, StatusCode::OK).await;
    assert!(chosen.get("password").is_none(), "{chosen}");

    // The creation is in the audit log.
    let audit = app.hub.store().audit_records(app.first.organization.id, 20).await.unwrap();
    assert!(audit.iter().any(|record| record.entry.action == "user.created"));

    let duplicate =
        app.as_admin(Method::POST, &path).json(&json!({"emailAddress": "ada@example.com"})).send().await.unwrap();
    let own = expect_error(duplicate, StatusCode::CONFLICT, "emailAddress").await;
    // An address taken in another organization reads as one taken here: nothing says where it is used.
    app.hub
        .create_organization("Elsewhere", "grace@elsewhere.example", &tether::store::audit::Actor::Cli)
        .await
        .unwrap();
    let elsewhere = app
        .as_admin(Method::POST, &path)
        .json(&json!({"emailAddress": "grace@elsewhere.example"}))
        .send()
        .await
        .unwrap();
    let elsewhere = expect_error(elsewhere, StatusCode::CONFLICT, "emailAddress").await;
    assert_eq!(elsewhere.replace("grace@elsewhere.example", "E"), own.replace("ada@example.com", "E"));
    assert!(!elsewhere.contains("exists"), "{elsewhere}");
}

async fn bad_input_gets_400_naming_the_field_and_stores_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let path = format!("/accounts/{}/users", app.account_id());
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "missing field `emailAddress`"),
        (json!({"emailAddress": "not-an-email"}), "emailAddress: must be an email address"),
        (json!({"emailAddress": 42}), "emailAddress: invalid type"),
        (json!({"emailAddress": "a@b.io", "firstName": ["x"]}), "firstName: invalid type"),
        (json!({"emailAddress": "a@b.io", "phone": "12345"}), "phone:"),
        (json!({"emailAddress": "a@b.io", "role": "owner"}), "role: unknown variant"),
        (json!({"emailAddress": "a@b.io", "password": "short"}), "password: must be at least 12"),
        (json!({"emailAddress": "a@b.io", "nickname": "x"}), "unknown field `nickname`"),
    ];
    for (body, needle) in cases {
        let response = app.as_admin(Method::POST, &path).json(&body).send().await.unwrap();
        expect_error(response, StatusCode::BAD_REQUEST, needle).await;
    }
    let broken = app
        .as_admin(Method::POST, &path)
        .header("Content-Type", "application/json")
        .body("{\"emailAddress\": ")
        .send()
        .await
        .unwrap();
    expect_error(broken, StatusCode::BAD_REQUEST, "emailAddress: EOF while parsing").await;
    let wrong_type =
        app.as_admin(Method::POST, &path).header("Content-Type", "text/plain").body("x").send().await.unwrap();
    expect_error(wrong_type, StatusCode::UNSUPPORTED_MEDIA_TYPE, "application/json").await;
    let bad_path = app.as_admin(Method::GET, "/accounts/abc/users").send().await.unwrap();
    expect_error(bad_path, StatusCode::BAD_REQUEST, "path:").await;

    assert_eq!(users_of(&app, app.account_id()).await.len(), 1, "no failed request stored a user");
}

async fn another_organization_is_invisible(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let other =
        app.hub.create_organization("Other", "boss@other.example", &tether::store::audit::Actor::Cli).await.unwrap();
    let mine = app.account_id();
    let my_admin = app.first.admin.id.0;

    let theirs = app.as_tenant(&other, Method::GET, "/accounts").send().await.unwrap();
    let theirs = expect_json(theirs, StatusCode::OK).await;
    assert_eq!(theirs.as_array().unwrap().len(), 1);
    assert_ne!(theirs[0]["id"], json!(mine));

    let read = app.as_tenant(&other, Method::GET, &format!("/accounts/{mine}/users")).send().await.unwrap();
    expect_error(read, StatusCode::NOT_FOUND, "No account").await;
    let write = app
        .as_tenant(&other, Method::POST, &format!("/accounts/{mine}/users"))
        .json(&json!({"emailAddress": "intruder@other.example"}))
        .send()
        .await
        .unwrap();
    expect_error(write, StatusCode::NOT_FOUND, "No account").await;
    let change = app
        .as_tenant(&other, Method::PATCH, &format!("/accounts/{mine}/users/{my_admin}"))
        .json(&json!({"firstName": "Mallory"}))
        .send()
        .await
        .unwrap();
    expect_error(change, StatusCode::NOT_FOUND, "No account").await;
    // Their own account id with our user id does not reach our user either.
    let sideways = app
        .as_tenant(&other, Method::PATCH, &format!("/accounts/{}/users/{my_admin}", other.account.id))
        .json(&json!({"firstName": "Mallory"}))
        .send()
        .await
        .unwrap();
    expect_error(sideways, StatusCode::NOT_FOUND, "No user").await;

    let users = users_of(&app, mine).await;
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["firstName"], "Admin", "nothing changed");
}

async fn members_are_limited_to_themselves(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let path = format!("/accounts/{}/users", app.account_id());
    let member =
        app.as_admin(Method::POST, &path).json(&json!({"emailAddress": "m@example.com"})).send().await.unwrap();
    let member = expect_json(member, StatusCode::OK).await;
    let header = authorization(member["secret"].as_str().unwrap(), app.first.organization_secret.expose_secret());

    let create = app
        .api(Method::POST, &path)
        .header("Authorization", &header)
        .json(&json!({"emailAddress": "x@example.com"}))
        .send()
        .await
        .unwrap();
    expect_error(create, StatusCode::FORBIDDEN, "admin").await;
    let admin_path = format!("{path}/{}", app.first.admin.id);
    let other = app
        .api(Method::PATCH, &admin_path)
        .header("Authorization", &header)
        .json(&json!({"firstName": "X"}))
        .send()
        .await
        .unwrap();
    expect_error(other, StatusCode::FORBIDDEN, "own profile").await;
    let own_path = format!("{path}/{}", member["id"]);
    let own = app
        .api(Method::PATCH, &own_path)
        .header("Authorization", &header)
        .json(&json!({"firstName": "Me"}))
        .send()
        .await
        .unwrap();
    assert_eq!(expect_json(own, StatusCode::OK).await["firstName"], "Me");
}

async fn patch_changes_profile_and_phone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let path = format!("/accounts/{}/users/{}", app.account_id(), app.first.admin.id);
    let changed = app
        .as_admin(Method::PATCH, &path)
        .json(&json!({"phone": "+1 (415) 555-0123", "lastName": "Hopper"}))
        .send()
        .await
        .unwrap();
    let changed = expect_json(changed, StatusCode::OK).await;
    assert_eq!(changed["phone"], "+14155550123");
    assert_eq!(changed["lastName"], "Hopper");
    assert_eq!(changed["firstName"], "Admin", "absent fields stay");

    let bad = app.as_admin(Method::PATCH, &path).json(&json!({"phone": "555"})).send().await.unwrap();
    expect_error(bad, StatusCode::BAD_REQUEST, "phone:").await;
    let empty = app.as_admin(Method::PATCH, &path).json(&json!({})).send().await.unwrap();
    expect_error(empty, StatusCode::BAD_REQUEST, "nothing to change").await;

    let cleared = app.as_admin(Method::PATCH, &path).json(&json!({"phone": null})).send().await.unwrap();
    let cleared = expect_json(cleared, StatusCode::OK).await;
    assert_eq!(cleared["phone"], Value::Null);
    assert_eq!(cleared["lastName"], "Hopper");

    let users_path = format!("/accounts/{}/users", app.account_id());
    app.as_admin(Method::POST, &users_path).json(&json!({"emailAddress": "taken@example.com"})).send().await.unwrap();
    let conflict =
        app.as_admin(Method::PATCH, &path).json(&json!({"emailAddress": "taken@example.com"})).send().await.unwrap();
    expect_error(conflict, StatusCode::CONFLICT, "emailAddress").await;
    let missing = app
        .as_admin(Method::PATCH, &format!("/accounts/{}/users/999999", app.account_id()))
        .json(&json!({"firstName": "x"}))
        .send()
        .await
        .unwrap();
    expect_error(missing, StatusCode::NOT_FOUND, "No user with id 999999").await;
}

async fn unknown_routes_and_oversized_bodies_get_json_errors(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| config.limits.max_body_bytes = 1024).await;
    let unknown = app.as_admin(Method::GET, "/no/such/thing").send().await.unwrap();
    expect_error(unknown, StatusCode::NOT_FOUND, "No route for GET /elements/api-v2/no/such/thing").await;
    let unknown_anonymous = app.api(Method::GET, "/nothing").send().await.unwrap();
    expect_error(unknown_anonymous, StatusCode::NOT_FOUND, "No route").await;
    let wrong_method = app.as_admin(Method::DELETE, "/accounts").send().await.unwrap();
    expect_error(wrong_method, StatusCode::METHOD_NOT_ALLOWED, "DELETE").await;

    let huge = json!({"emailAddress": "big@example.com", "firstName": "x".repeat(4096)});
    let path = format!("/accounts/{}/users", app.account_id());
    let response = app.as_admin(Method::POST, &path).json(&huge).send().await.unwrap();
    expect_error(response, StatusCode::PAYLOAD_TOO_LARGE, "body").await;
}

async fn rotating_a_secret_retires_the_old_one_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let session = crate::utils::open_session(&app.hub, "admin@tether.local", &app.first.password).await;
    let organization = app.first.organization_secret.expose_secret().to_owned();
    let old_user = app.first.user_secret.expose_secret().to_owned();
    let call = |user: &str, organization: &str| {
        app.api(Method::GET, "/accounts").header("Authorization", authorization(user, organization)).send()
    };
    // A call first, so the caller behind the old secret is in the node's cache.
    assert_eq!(call(&old_user, &organization).await.unwrap().status(), StatusCode::OK);

    let new_user = app.hub.rotate_user_secret(&session.caller, 0).await.unwrap();
    assert_ne!(new_user.as_str(), old_user);
    expect_error(call(&old_user, &organization).await.unwrap(), StatusCode::UNAUTHORIZED, "Invalid").await;
    assert_eq!(call(new_user.as_str(), &organization).await.unwrap().status(), StatusCode::OK);

    let new_organization = app.hub.rotate_organization_secret(&session.caller, 0).await.unwrap();
    expect_error(call(new_user.as_str(), &organization).await.unwrap(), StatusCode::UNAUTHORIZED, "Invalid").await;
    assert_eq!(call(new_user.as_str(), new_organization.as_str()).await.unwrap().status(), StatusCode::OK);

    // Members may rotate their own secret, not the organization's.
    let path = format!("/accounts/{}/users", app.account_id());
    let header = authorization(new_user.as_str(), new_organization.as_str());
    let member = app
        .api(Method::POST, &path)
        .header("Authorization", &header)
        .json(&json!({"emailAddress": "member@example.com", "password": "a long enough password"}))
        .send()
        .await
        .unwrap();
    expect_json(member, StatusCode::OK).await;
    let member =
        crate::utils::open_session(&app.hub, "member@example.com", &"a long enough password".to_owned().into()).await;
    assert!(app.hub.rotate_user_secret(&member.caller, 0).await.is_ok());
    let refused = app.hub.rotate_organization_secret(&member.caller, 0).await;
    assert!(matches!(refused, Err(app::error::HubError::Forbidden(_))), "{refused:?}");

    // Each rotation is audited, without the secret.
    let audit = app.hub.store().audit_records(app.first.organization.id, 50).await.unwrap();
    let rotations: Vec<&str> = audit
        .iter()
        .filter(|record| record.entry.action == "secret.rotated")
        .map(|record| record.entry.target.as_str())
        .collect();
    assert_eq!(rotations.len(), 3, "{rotations:?}");
    assert!(rotations.contains(&format!("organization:{}", app.first.organization.id).as_str()));
    let text = format!("{audit:?}");
    assert!(!text.contains(new_user.as_str()) && !text.contains(new_organization.as_str()));
}

async fn a_rotated_secret_works_through_its_grace_period_only(backend: Backend) {
    // Without the node's cache of callers, whose entries last their own few seconds of real time.
    let app = TestApp::spawn_with(backend, |config| config.proxy.call_cache = std::time::Duration::ZERO).await;
    let session = crate::utils::open_session(&app.hub, "admin@tether.local", &app.first.password).await;
    let organization = app.first.organization_secret.expose_secret().to_owned();
    let old_user = app.first.user_secret.expose_secret().to_owned();
    let call = |user: &str| {
        app.api(Method::GET, "/accounts").header("Authorization", authorization(user, &organization)).send()
    };
    let refused = app.hub.rotate_user_secret(&session.caller, app::revealed::MAX_GRACE_MINUTES + 1).await;
    assert!(refused.unwrap_err().to_string().contains("graceMinutes"));
    assert_eq!(call(&old_user).await.unwrap().status(), StatusCode::OK, "a refused rotation changes nothing");

    let new_user = app.hub.rotate_user_secret(&session.caller, 60).await.unwrap();
    assert_eq!(call(&old_user).await.unwrap().status(), StatusCode::OK, "the old secret works for the hour");
    assert_eq!(call(new_user.as_str()).await.unwrap().status(), StatusCode::OK);
    app.advance(std::time::Duration::from_secs(59 * 60));
    assert_eq!(call(&old_user).await.unwrap().status(), StatusCode::OK, "still within the hour");
    app.advance(std::time::Duration::from_secs(60));
    expect_error(call(&old_user).await.unwrap(), StatusCode::UNAUTHORIZED, "Invalid").await;
    assert_eq!(call(new_user.as_str()).await.unwrap().status(), StatusCode::OK);
}
