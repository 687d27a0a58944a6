//! Two-factor sign-in: authenticator apps with replay refused, phones with codes in the outbox or sent to an
//! SMS provider, a changed phone confirmed at the next sign-in, recovery codes, wrong-code limits, and an admin's
//! reset and disable.

use crate::on_both_backends;
use crate::utils::{Backend, TestApp, authorization, expect_error, expect_json, open_session};
use app::error::HubError;
use app::hub::{Accounts, Identity, TwoFactor};
use app::hub::{ConsoleSession, SignInStep};
use app::two_factor::{CodePrompt, TwoFactorMethod};
use app::types::{AccountId, UserId};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use tether::hub::HubService;

on_both_backends!(
    an_authenticator_app_guards_sign_in_and_each_code_works_once,
    a_changed_phone_is_confirmed_by_a_code_at_the_next_sign_in,
    wrong_codes_end_the_sign_in_and_count_toward_the_lockout,
    an_admin_resets_two_factor_and_disables_users,
);

const PASSWORD: &str = "a long enough password";

fn secret(text: &str) -> SecretString {
    SecretString::from(text.to_owned())
}

/// The current TOTP code for a base32 secret, as an authenticator app would show it.
fn totp_code(base32: &str, at: u64) -> String {
    let bytes = totp_rs::Secret::Encoded(base32.to_owned()).to_bytes().unwrap();
    totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 0, 30, bytes, None, String::new()).generate(at)
}

fn now_seconds() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// Makes a member with a password and signs them in; answers their user id and session.
async fn member(app: &TestApp, email: &str) -> (UserId, ConsoleSession) {
    let path = format!("/accounts/{}/users", app.account_id());
    let body = json!({"emailAddress": email, "password": PASSWORD});
    let created =
        expect_json(app.as_admin(Method::POST, &path).json(&body).send().await.unwrap(), StatusCode::OK).await;
    let session = open_session(&app.hub, email, &secret(PASSWORD)).await;
    (UserId(created["id"].as_i64().unwrap()), session)
}

/// Signs in with the password, expecting the second step.
async fn password_step(hub: &HubService, email: &str) -> (SecretString, CodePrompt) {
    match hub.sign_in(email, &secret(PASSWORD)).await.unwrap() {
        SignInStep::CodeNeeded { token, prompt } => (token, prompt),
        SignInStep::Done(_) => panic!("{email} signed in without a second step"),
    }
}

/// The code in the newest text message kept in the outbox for `phone`.
async fn texted_code(app: &TestApp, phone: &str) -> String {
    let kept = app.hub.store().notifications(app.first.organization.id, 50).await.unwrap();
    let message = kept
        .iter()
        .find(|record| record.channel == "sms" && record.notice.recipients == [phone.to_owned()])
        .unwrap_or_else(|| panic!("no text message to {phone} in the outbox"));
    code_in(&message.notice.body)
}

/// The six-digit code in a text message's words.
fn code_in(body: &str) -> String {
    let word = body
        .split_whitespace()
        .map(|word| word.trim_end_matches('.'))
        .find(|word| word.len() == 6 && word.chars().all(|c| c.is_ascii_digit()));
    word.unwrap_or_else(|| panic!("no code in {body:?}")).to_owned()
}

async fn an_authenticator_app_guards_sign_in_and_each_code_works_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (user, session) = member(&app, "totp@example.com").await;
    let hub = &app.hub;

    let enrolment = hub.begin_totp_enrolment(&session.caller).await.unwrap();
    assert!(enrolment.qr_code.as_str().starts_with("data:image/svg+xml;base64,"));
    let base32 = enrolment.secret.as_str().to_owned();
    let wrong = hub.confirm_enrolment(&session.caller, TwoFactorMethod::Totp, &secret("000000")).await;
    let right_now = totp_code(&base32, now_seconds());
    if right_now != "000000" {
        assert!(matches!(wrong, Err(HubError::BadRequest(_))), "{wrong:?}");
    }
    let codes = hub.confirm_enrolment(&session.caller, TwoFactorMethod::Totp, &secret(&right_now)).await.unwrap();
    assert_eq!(codes.codes.len(), 10);
    let status = hub.two_factor_status(&session.caller).await.unwrap();
    assert_eq!(status.method, Some(TwoFactorMethod::Totp));
    assert_eq!(status.recovery_codes_left, 10);

    // The password alone no longer opens a session.
    let (token, prompt) = password_step(hub, "totp@example.com").await;
    assert_eq!(prompt.method, TwoFactorMethod::Totp);
    assert_eq!(hub.code_prompt(&token).await.unwrap(), prompt);
    let refused = hub.finish_sign_in(&token, &secret("12345")).await;
    assert!(
        matches!(refused, Err(HubError::Unauthorized(ref message)) if message.contains("not right")),
        "{refused:?}"
    );

    // The code of the next step works; the same step is refused afterwards, even in a new sign-in.
    let later = now_seconds() + 30;
    let next_code = totp_code(&base32, later);
    let opened = hub.finish_sign_in(&token, &secret(&next_code)).await.unwrap();
    assert_eq!(opened.caller.user_id, user);
    let finished_again = hub.finish_sign_in(&token, &secret(&next_code)).await;
    assert!(matches!(finished_again, Err(HubError::Unauthorized(_))), "a finished sign-in cannot be reused");
    let (token, _) = password_step(hub, "totp@example.com").await;
    for replayed in [&next_code, &right_now] {
        let again = hub.finish_sign_in(&token, &secret(replayed)).await;
        assert!(matches!(again, Err(HubError::Unauthorized(_))), "a used or older step is refused: {again:?}");
    }

    // A recovery code stands in once, typed in any case and without its dash.
    let recovery = codes.codes[0].as_str().to_uppercase().replace('-', "");
    hub.finish_sign_in(&token, &secret(&recovery)).await.unwrap();
    let (token, _) = password_step(hub, "totp@example.com").await;
    assert!(hub.finish_sign_in(&token, &secret(&recovery)).await.is_err(), "a recovery code works once");
    assert_eq!(hub.two_factor_status(&session.caller).await.unwrap().recovery_codes_left, 9);

    // The secret is stored only encrypted, and no audit record or code holds it.
    let audit = hub.store().audit_records(app.first.organization.id, 100).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|record| record.entry.action.as_str()).collect();
    for action in
        ["two_factor.enrolled.totp", "session.code_refused", "two_factor.recovery_code_used", "session.opened"]
    {
        assert!(actions.contains(&action), "{action} is audited: {actions:?}");
    }
    let text = format!("{audit:?}");
    assert!(!text.contains(&base32) && !text.contains(&recovery.to_lowercase()), "no secret in the audit log");
    let vault_id: i64 = sqlx::query_scalar("SELECT totp_vault_id FROM users WHERE id = $1")
        .bind(user.0)
        .fetch_one(hub.store().pool())
        .await
        .unwrap();
    let stored: Vec<u8> = sqlx::query_scalar("SELECT ciphertext FROM vault WHERE id = $1")
        .bind(vault_id)
        .fetch_one(hub.store().pool())
        .await
        .unwrap();
    assert!(!stored.windows(base32.len()).any(|window| window == base32.as_bytes()), "stored encrypted");
    let readable = hub.vault().use_secret(tether::store::vault::VaultId(vault_id)).await.unwrap();
    assert_eq!(readable.expose_secret(), base32);
}

async fn a_changed_phone_is_confirmed_by_a_code_at_the_next_sign_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (user, session) = member(&app, "phone@example.com").await;
    let hub = &app.hub;

    hub.begin_phone_enrolment(&session.caller, "+1 415 555 0100").await.unwrap();
    let code = texted_code(&app, "+14155550100").await;
    let flood = hub.begin_phone_enrolment(&session.caller, "+14155550100").await;
    assert!(matches!(flood, Err(HubError::TooManyRequests { retry_after_seconds: 1..=30, .. })), "{flood:?}");
    hub.confirm_enrolment(&session.caller, TwoFactorMethod::Phone, &secret(&code)).await.unwrap();
    let status = hub.two_factor_status(&session.caller).await.unwrap();
    assert_eq!(
        (status.method, status.phone.as_deref(), status.phone_confirmed),
        (Some(TwoFactorMethod::Phone), Some("+14155550100"), true)
    );
    // Text messages stay in the outbox: the mailer never claims them.
    assert!(hub.store().claim_due_notifications(10).await.unwrap().is_empty());

    // An admin sets a new number through the API: it is unconfirmed until the next sign-in confirms it.
    let path = format!("/accounts/{}/users/{user}", app.account_id());
    let patched = app.as_admin(Method::PATCH, &path).json(&json!({"phone": "+14155550199"})).send().await.unwrap();
    let patched = expect_json(patched, StatusCode::OK).await;
    assert_eq!((patched["phone"].as_str(), patched["phoneConfirmed"].as_bool()), (Some("+14155550199"), Some(false)));
    assert_eq!(patched["twoFactor"], "phone");

    let (token, prompt) = password_step(hub, "phone@example.com").await;
    assert_eq!(prompt.method, TwoFactorMethod::Phone);
    assert!(prompt.confirms_new_phone);
    assert_eq!(prompt.sent_to.as_deref(), Some("+•••••••0199"));
    let code = texted_code(&app, "+14155550199").await;
    hub.finish_sign_in(&token, &secret(&code)).await.unwrap();
    let user_now = hub.store().user(user).await.unwrap().unwrap();
    assert!(user_now.phone_confirmed, "entering the code confirmed the new number");

    // Confirmed now, the next sign-in still texts a code but no longer asks to confirm.
    let (_, prompt) = password_step(hub, "phone@example.com").await;
    assert!(!prompt.confirms_new_phone);

    let audit = hub.store().audit_records(app.first.organization.id, 100).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|record| record.entry.action.as_str()).collect();
    for action in ["two_factor.enrolled.phone", "user.phone_changed", "user.phone_confirmed"] {
        assert!(actions.contains(&action), "{action} is audited: {actions:?}");
    }
    assert!(!format!("{audit:?}").contains(&code), "no code in the audit log");
}

async fn wrong_codes_end_the_sign_in_and_count_toward_the_lockout(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, session) = member(&app, "guess@example.com").await;
    let hub = &app.hub;
    hub.begin_phone_enrolment(&session.caller, "+14155550111").await.unwrap();
    let code = texted_code(&app, "+14155550111").await;
    hub.confirm_enrolment(&session.caller, TwoFactorMethod::Phone, &secret(&code)).await.unwrap();

    let (token, _) = password_step(hub, "guess@example.com").await;
    let right = texted_code(&app, "+14155550111").await;
    let wrong = if right == "111111" { "222222" } else { "111111" };
    for attempt in 1..=5 {
        let refused = hub.finish_sign_in(&token, &secret(wrong)).await.unwrap_err();
        let expected = if attempt < 5 { "not right" } else { "Too many wrong codes" };
        assert!(refused.to_string().contains(expected), "attempt {attempt}: {refused}");
    }
    let after = hub.finish_sign_in(&token, &secret(&right)).await.unwrap_err();
    assert!(after.to_string().contains("expired"), "the fifth wrong code ended this sign-in: {after}");

    // Wrong codes count with wrong passwords: 20 in a row lock the email.
    for _ in 0..3 {
        let (token, _) = password_step(hub, "guess@example.com").await;
        for _ in 0..5 {
            let _ = hub.finish_sign_in(&token, &secret(wrong)).await;
        }
    }
    let locked = hub.sign_in("guess@example.com", &secret(PASSWORD)).await.unwrap_err();
    assert!(matches!(locked, HubError::TooManyRequests { .. }), "{locked:?}");
}

async fn an_admin_resets_two_factor_and_disables_users(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (user, session) = member(&app, "lost@example.com").await;
    let hub = &app.hub;
    let admin = open_session(hub, "admin@tether.local", &app.first.password).await;
    let account = AccountId(app.account_id());
    let enrolment = hub.begin_totp_enrolment(&session.caller).await.unwrap();
    let code = totp_code(enrolment.secret.as_str(), now_seconds());
    hub.confirm_enrolment(&session.caller, TwoFactorMethod::Totp, &secret(&code)).await.unwrap();
    password_step(hub, "lost@example.com").await;

    // Members may not reset or disable anyone.
    let refused = hub.reset_two_factor(&session.caller, account, user).await;
    assert!(matches!(refused, Err(HubError::Forbidden(_))), "{refused:?}");
    assert!(matches!(
        hub.set_user_active(&session.caller, account, admin.caller.user_id, false).await,
        Err(HubError::Forbidden(_))
    ));

    let reset = hub.reset_two_factor(&admin.caller, account, user).await.unwrap();
    assert_eq!(reset.two_factor, None);
    open_session(hub, "lost@example.com", &secret(PASSWORD)).await;

    // A disabled user can neither sign in nor call the API, and their sessions end.
    let path = format!("/accounts/{}/users", app.account_id());
    let created = expect_json(
        app.as_admin(Method::POST, &path).json(&json!({"emailAddress": "gone@example.com"})).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    let gone = UserId(created["id"].as_i64().unwrap());
    let header = authorization(created["secret"].as_str().unwrap(), app.first.organization_secret.expose_secret());
    let call = || app.api(Method::GET, "/accounts").header("Authorization", &header).send();
    assert_eq!(call().await.unwrap().status(), StatusCode::OK);
    assert!(hub.resume_session(&session.token).await.is_ok());
    let disabled = hub.set_user_active(&admin.caller, account, user, false).await.unwrap();
    assert!(!disabled.active);
    assert!(hub.resume_session(&session.token).await.is_err(), "a disabled user's session ends");
    assert!(hub.sign_in("lost@example.com", &secret(PASSWORD)).await.is_err());
    hub.set_user_active(&admin.caller, account, gone, false).await.unwrap();
    expect_error(call().await.unwrap(), StatusCode::UNAUTHORIZED, "inactive").await;
    hub.set_user_active(&admin.caller, account, gone, true).await.unwrap();
    assert_eq!(call().await.unwrap().status(), StatusCode::OK);
    let myself = hub.set_user_active(&admin.caller, account, admin.caller.user_id, false).await;
    assert!(matches!(myself, Err(HubError::BadRequest(_))), "{myself:?}");

    let audit = hub.store().audit_records(app.first.organization.id, 100).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|record| record.entry.action.as_str()).collect();
    for action in ["two_factor.reset", "user.disabled", "user.enabled"] {
        assert!(actions.contains(&action), "{action} is audited: {actions:?}");
    }
}

/// With `sms_url` set, codes go to that SMS provider as JSON with the bearer token, and not to the outbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_go_to_the_configured_sms_provider() {
    use axum::{Json, Router, extract::State, http::HeaderMap, routing::post};
    use std::sync::{Arc, Mutex};
    type Received = Arc<Mutex<Vec<(Option<String>, serde_json::Value)>>>;
    async fn receive(State(received): State<Received>, headers: HeaderMap, Json(body): Json<serde_json::Value>) {
        let bearer = headers.get("authorization").and_then(|value| value.to_str().ok()).map(str::to_owned);
        received.lock().unwrap().push((bearer, body));
    }
    let received: Received = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = Router::new().route("/messages", post(receive)).with_state(received.clone());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.sms.url = Some(format!("http://{address}/messages"));
        config.sms.token = Some(secret("sms-provider-token"));
    })
    .await;
    let (_, session) = member(&app, "texted@example.com").await;
    app.hub.begin_phone_enrolment(&session.caller, "+14155550122").await.unwrap();
    let (bearer, body) = received.lock().unwrap().first().cloned().expect("the provider got the message");
    assert_eq!(bearer.as_deref(), Some("Bearer sms-provider-token"));
    assert_eq!(body["to"], "+14155550122");
    let code = code_in(body["body"].as_str().unwrap());
    let kept = app.hub.store().notifications(app.first.organization.id, 10).await.unwrap();
    assert!(kept.iter().all(|record| record.channel != "sms"), "nothing kept in the outbox");
    app.hub.confirm_enrolment(&session.caller, TwoFactorMethod::Phone, &secret(&code)).await.unwrap();
    server.abort();
}
