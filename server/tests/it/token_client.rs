//! The provider token client against a real OAuth provider: code exchange with PKCE, both client authentication
//! methods, refresh with rotation, revocation, and how each failure is classified.

use crate::processes::{OAUTH_CLIENT_SECRET, OAuthProvider};
use app::catalog::{TokenAuth, TokenBody, TokenFields};
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::time::Duration;
use tether::hub::pkce_challenge;
use tether::providers::token_client::{ClientCredentials, TokenClient, TokenEndpoint, TokenError};

const CALLBACK: &str = "http://127.0.0.1:9/callback";
const VERIFIER: &str = "a-pkce-verifier-that-is-long-enough-0123456789";

fn secret(text: &str) -> SecretString {
    SecretString::from(text.to_owned())
}

fn endpoint(provider: &OAuthProvider, path: &str, auth: TokenAuth) -> TokenEndpoint {
    TokenEndpoint {
        url: format!("{}{path}", provider.issuer).parse().unwrap(),
        auth,
        body: TokenBody::Form,
        extra: BTreeMap::new(),
        fields: TokenFields::default(),
    }
}

fn client(id: &str) -> ClientCredentials {
    ClientCredentials { id: id.into(), secret: secret(OAUTH_CLIENT_SECRET) }
}

/// Signs in at the provider and returns a fresh authorization code for `client_id`, with a PKCE challenge.
async fn code_for(provider: &OAuthProvider, client_id: &str) -> SecretString {
    let url = reqwest::Url::parse_with_params(
        &format!("{}/auth", provider.issuer),
        &[
            ("client_id", client_id),
            ("response_type", "code"),
            ("redirect_uri", CALLBACK),
            ("scope", "openid offline_access"),
            ("state", "s"),
            ("prompt", "consent"),
            ("code_challenge", &pkce_challenge(VERIFIER)),
            ("code_challenge_method", "S256"),
        ],
    )
    .unwrap();
    let callback = provider.authorize(url.as_str(), "alice", true).await;
    let code = callback.query_pairs().find(|(name, _)| name == "code").map(|(_, value)| value.into_owned());
    secret(&code.unwrap_or_else(|| panic!("no code in {callback}")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchange_refresh_and_revoke_against_the_provider() {
    let provider = OAuthProvider::start(&[CALLBACK], true);
    let tokens = TokenClient::new(
        Duration::from_secs(10),
        tether::providers::outbound::Outbound::new(tether::providers::outbound::OutboundSettings {
            allow_private: true,
            ..Default::default()
        }),
    );
    let token_url = endpoint(&provider, "/token", TokenAuth::Form);
    let post = client("tether-post");

    let code = code_for(&provider, "tether-post").await;
    let capture = vec!["token_type".to_owned(), "id_token".to_owned()];
    let granted =
        tokens.exchange_code(&token_url, &post, &code, CALLBACK, Some(&secret(VERIFIER)), &capture).await.unwrap();
    assert!(!granted.access_token.expose_secret().is_empty());
    let first_refresh = granted.refresh_token.expect("offline_access grants a refresh token");
    assert!(granted.expires_at.is_some());
    assert_eq!(granted.captured["token_type"], "Bearer");
    assert!(granted.captured.contains_key("id_token"));

    // The provider rotates refresh tokens; the old one is then dead.
    let refreshed = tokens.refresh(&token_url, &post, &first_refresh, &[]).await.unwrap();
    let second_refresh = refreshed.refresh_token.expect("a rotated refresh token");
    assert_ne!(second_refresh.expose_secret(), first_refresh.expose_secret());
    let stale = tokens.refresh(&token_url, &post, &first_refresh, &[]).await;
    assert!(matches!(stale, Err(TokenError::InvalidGrant { .. })), "{stale:?}");

    // After revocation (RFC 7009) the refresh token no longer works.
    let revocation = endpoint(&provider, "/token/revocation", TokenAuth::Form);
    tokens.revoke(&revocation, &post, &second_refresh, "refresh_token").await.unwrap();
    let revoked = tokens.refresh(&token_url, &post, &second_refresh, &[]).await;
    assert!(matches!(revoked, Err(TokenError::InvalidGrant { .. })), "{revoked:?}");

    // A code works once; replaying it is refused, and the provider revokes what the code had granted.
    let code = code_for(&provider, "tether-post").await;
    let granted = tokens.exchange_code(&token_url, &post, &code, CALLBACK, Some(&secret(VERIFIER)), &[]).await.unwrap();
    let replay = tokens.exchange_code(&token_url, &post, &code, CALLBACK, Some(&secret(VERIFIER)), &[]).await;
    assert!(matches!(replay, Err(TokenError::InvalidGrant { .. })), "{replay:?}");
    let after_replay = tokens.refresh(&token_url, &post, &granted.refresh_token.unwrap(), &[]).await;
    assert!(matches!(after_replay, Err(TokenError::InvalidGrant { .. })), "{after_replay:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_client_authentication_and_refusals_are_classified() {
    let provider = OAuthProvider::start(&[CALLBACK], true);
    let tokens = TokenClient::new(
        Duration::from_secs(10),
        tether::providers::outbound::Outbound::new(tether::providers::outbound::OutboundSettings {
            allow_private: true,
            ..Default::default()
        }),
    );

    let code = code_for(&provider, "tether-basic").await;
    let basic = endpoint(&provider, "/token", TokenAuth::Basic);
    let granted =
        tokens.exchange_code(&basic, &client("tether-basic"), &code, CALLBACK, Some(&secret(VERIFIER)), &[]).await;
    assert!(granted.is_ok(), "{granted:?}");

    // A wrong client secret is a refusal with the provider's reason, not a dead grant.
    let code = code_for(&provider, "tether-post").await;
    let wrong = ClientCredentials { id: "tether-post".into(), secret: secret("not-the-secret") };
    let refused = tokens
        .exchange_code(
            &endpoint(&provider, "/token", TokenAuth::Form),
            &wrong,
            &code,
            CALLBACK,
            Some(&secret(VERIFIER)),
            &[],
        )
        .await;
    match refused {
        Err(TokenError::Rejected { status, error, .. }) => {
            assert_eq!(status, 401);
            assert_eq!(error, "invalid_client");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }

    // Without the verifier, the PKCE-bound code is refused.
    let code = code_for(&provider, "tether-post").await;
    let missing = tokens
        .exchange_code(
            &endpoint(&provider, "/token", TokenAuth::Form),
            &client("tether-post"),
            &code,
            CALLBACK,
            None,
            &[],
        )
        .await;
    assert!(matches!(missing, Err(TokenError::InvalidGrant { .. } | TokenError::Rejected { .. })), "{missing:?}");

    // Nothing listening: a transient failure, worth retrying.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let nowhere = TokenEndpoint {
        url: format!("http://{address}/token").parse().unwrap(),
        auth: TokenAuth::Form,
        body: TokenBody::Form,
        extra: BTreeMap::new(),
        fields: TokenFields::default(),
    };
    let unreachable = tokens.refresh(&nowhere, &client("tether-post"), &secret("r"), &[]).await;
    match unreachable {
        Err(TokenError::Transient { detail, .. }) => assert!(!detail.contains("refresh_token=")),
        other => panic!("expected a transient failure, got {other:?}"),
    }
}

/// A token endpoint that answers each path with a canned answer, as providers that depart from RFC 6749 do.
async fn quirky_provider() -> String {
    use axum::http::header::CONTENT_TYPE;
    use axum::response::IntoResponse;
    let in_six_hours = chrono::Utc::now().timestamp() + 6 * 3600;
    let app = axum::Router::new()
        .route(
            "/form",
            axum::routing::post(|| async {
                let form = "access_token=form-access&refresh_token=form-refresh&expires_in=3600&scope=repo";
                ([(CONTENT_TYPE, "application/x-www-form-urlencoded")], form).into_response()
            }),
        )
        .route(
            "/slack",
            axum::routing::post(|| async {
                axum::Json(serde_json::json!({
                    "ok": true, "access_token": "xoxb-bot", "token_type": "bot",
                    "authed_user": {"id": "U1", "access_token": "xoxp-user", "refresh_token": "xoxe-user", "expires_in": 43200},
                    "team": {"id": "T123", "name": "Acme"}
                }))
            }),
        )
        .route(
            "/refused-with-200",
            axum::routing::post(|| async { axum::Json(serde_json::json!({"ok": false, "error": "invalid_refresh_token"})) }),
        )
        .route(
            "/rejected-with-200",
            axum::routing::post(|| async { axum::Json(serde_json::json!({"ok": false, "error": "invalid_client_id"})) }),
        )
        .route(
            "/strava",
            axum::routing::post(move || async move {
                axum::Json(serde_json::json!({"token_type": "Bearer", "access_token": "strava-access",
                    "refresh_token": "strava-refresh", "expires_at": in_six_hours}))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// Each token-answer quirk the catalog's providers have, read by the one token client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_answers_that_depart_from_the_standard_are_read() {
    let base = quirky_provider().await;
    let tokens = TokenClient::new(
        Duration::from_secs(10),
        tether::providers::outbound::Outbound::new(tether::providers::outbound::OutboundSettings {
            allow_private: true,
            ..Default::default()
        }),
    );
    let at = |path: &str, fields: TokenFields| TokenEndpoint {
        url: format!("{base}{path}").parse().unwrap(),
        auth: TokenAuth::Form,
        body: TokenBody::Form,
        extra: BTreeMap::new(),
        fields,
    };
    let post = client("tether-post");
    let refresh = secret("a-refresh-token");

    // A form-encoded answer (GitHub's classic answer).
    let form = tokens.refresh(&at("/form", TokenFields::default()), &post, &refresh, &[]).await.unwrap();
    assert_eq!(form.access_token.expose_secret(), "form-access");
    assert_eq!(form.refresh_token.unwrap().expose_secret(), "form-refresh");
    assert_eq!(form.lifetime.map(|lifetime| lifetime.num_seconds()), Some(3600));
    assert_eq!(form.scope.as_deref(), Some("repo"));

    // Slack's v2 answer: the user's tokens nested beside the bot's, and a nested field captured.
    let user_token = TokenFields {
        access_token: "authed_user.access_token".into(),
        refresh_token: "authed_user.refresh_token".into(),
        expires_in: "authed_user.expires_in".into(),
        ..TokenFields::default()
    };
    let capture = vec!["team.id".to_owned()];
    let slack = tokens.refresh(&at("/slack", user_token), &post, &refresh, &capture).await.unwrap();
    assert_eq!(slack.access_token.expose_secret(), "xoxp-user");
    assert_eq!(slack.refresh_token.unwrap().expose_secret(), "xoxe-user");
    assert_eq!(slack.lifetime.map(|lifetime| lifetime.num_seconds()), Some(43200));
    assert_eq!(slack.captured["team.id"], "T123");
    let bot = tokens.refresh(&at("/slack", TokenFields::default()), &post, &refresh, &[]).await.unwrap();
    assert_eq!(bot.access_token.expose_secret(), "xoxb-bot");

    // A refusal sent with 200: a dead grant when the error says so, else a refusal with the provider's word.
    let gone = tokens.refresh(&at("/refused-with-200", TokenFields::default()), &post, &refresh, &[]).await;
    assert!(matches!(gone, Err(TokenError::InvalidGrant { .. })), "{gone:?}");
    let rejected = tokens.refresh(&at("/rejected-with-200", TokenFields::default()), &post, &refresh, &[]).await;
    match rejected {
        Err(TokenError::Rejected { status, error, .. }) => {
            assert_eq!((status, error.as_str()), (200, "invalid_client_id"))
        }
        other => panic!("expected a refusal, got {other:?}"),
    }

    // Strava's absolute expiry, in Unix seconds, with no expires_in.
    let strava = tokens.refresh(&at("/strava", TokenFields::default()), &post, &refresh, &[]).await.unwrap();
    let expires_at = strava.expires_at.expect("the absolute expiry is read");
    let from_now = (expires_at - chrono::Utc::now()).num_seconds();
    assert!((6 * 3600 - 60..=6 * 3600).contains(&from_now), "{from_now}");
}
