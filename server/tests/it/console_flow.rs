//! The console's own OAuth flow, through the hub: PKCE and a fresh state always, bound to the session that
//! started it, used once, with the provider's `iss` checked and a denied consent creating nothing.

use crate::instances::instance_count;
use crate::oauth::{provider_element, query_of};
use crate::on_both_backends;
use crate::processes::{OAUTH_CLIENT_SECRET, OAuthProvider};
use crate::utils::{Backend, TestApp};
use app::error::HubError;
use app::hub::ConsoleSession;
use app::hub::{ConsoleConnect, Instances};
use app::instances::{ConsoleAuthentication, ConsoleNext, InstanceTarget, OAuthCallback};
use serde_json::json;
use std::collections::BTreeMap;

on_both_backends!(the_console_flow_is_pkce_bound_to_its_session_and_single_use);

async fn sign_in(app: &TestApp) -> ConsoleSession {
    crate::utils::open_session(&app.hub, &app.first.admin.email_address, &app.first.password).await
}

fn form(instance: Option<app::instances::InstanceId>) -> ConsoleAuthentication {
    ConsoleAuthentication {
        element: "test-idp".into(),
        instance,
        name: "From the console".into(),
        tags: vec!["console".into()],
        configuration: BTreeMap::from([
            ("oauth.api.key".into(), "tether-post".into()),
            ("oauth.api.secret".into(), OAUTH_CLIENT_SECRET.into()),
        ]),
        save_oauth_app: false,
    }
}

/// Starts the flow as `session` and follows the provider's pages; returns what the provider sent back.
async fn through_provider(
    app: &TestApp,
    provider: &OAuthProvider,
    session: &ConsoleSession,
    form: ConsoleAuthentication,
    approve: bool,
) -> OAuthCallback {
    let next = app.hub.begin_console_authentication(&session.caller, &session.token, &app.base_url, form).await;
    let Ok(ConsoleNext::Provider { url }) = next else { panic!("an OAuth element goes to the provider: {next:?}") };
    let sent = query_of(&reqwest::Url::parse(&url).unwrap());
    assert_eq!(sent["code_challenge_method"], "S256");
    assert_eq!(sent["redirect_uri"], format!("{}/oauth/callback", app.base_url));
    assert_ne!(sent["state"], "test-idp", "the console's state is random");
    let returned = query_of(&provider.authorize(&url, "alice", approve).await);
    OAuthCallback::from_pairs(returned.iter().map(|(name, value)| (name.as_str(), value.as_str())))
}

fn refusal(result: Result<app::instances::InstanceId, HubError>, needle: &str) {
    match result {
        Err(error) => assert!(error.to_string().contains(needle), "{error} should contain {needle:?}"),
        Ok(id) => panic!("expected a refusal containing {needle:?}, got instance {id}"),
    }
}

async fn the_console_flow_is_pkce_bound_to_its_session_and_single_use(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let callback = format!("{}/oauth/callback", app.base_url);
    let provider = OAuthProvider::start(&[&callback], true);
    let mut element = provider_element(&provider);
    element["oauth"]["issuer"] = json!(provider.issuer);
    app.create_element(&element).await;
    let session = sign_in(&app).await;
    let other_session = sign_in(&app).await;

    let returned = through_provider(&app, &provider, &session, form(None), true).await;
    let complete = |session: &ConsoleSession, callback: OAuthCallback| {
        let (caller, token) = (session.caller.clone(), session.token.clone());
        let hub = app.hub.clone();
        async move { hub.complete_console_authorization(&caller, &token, callback).await }
    };
    refusal(complete(&other_session, returned.clone()).await, "expired or was already completed");
    let id = complete(&session, returned.clone()).await.expect("the starting session completes the flow");
    // Back to the landing page: the same session is shown the instance its flow made, and nothing is made again.
    assert_eq!(complete(&session, returned.clone()).await.unwrap(), id);
    refusal(complete(&other_session, returned).await, "expired or was already completed");
    let created = app.hub.instance(&session.caller, &InstanceTarget::Id(id)).await.unwrap();
    assert_eq!((created.name.as_str(), created.tags.clone()), ("From the console", vec!["console".to_owned()]));
    assert_eq!(created.configuration["oauth.callback.url"], callback);

    let mut forged = through_provider(&app, &provider, &session, form(None), true).await;
    forged.iss = Some("https://elsewhere.example".into());
    refusal(complete(&session, forged).await, "iss:");

    let denied = through_provider(&app, &provider, &session, form(None), false).await;
    assert_eq!(denied.error.as_deref(), Some("access_denied"));
    refusal(complete(&session, denied).await, "Access was denied");
    assert_eq!(instance_count(&app).await, 1, "only the completed flow made an instance");

    // Re-authenticating from the console keeps the id and token, and uses the instance's own OAuth app.
    let mut again = form(Some(id));
    again.configuration.clear();
    let returned = through_provider(&app, &provider, &session, again, true).await;
    assert_eq!(complete(&session, returned).await.unwrap(), id);
    let reauthenticated = app.hub.instance(&session.caller, &InstanceTarget::Id(id)).await.unwrap();
    assert_eq!(reauthenticated.token, created.token);
    assert_eq!(instance_count(&app).await, 1);
}
