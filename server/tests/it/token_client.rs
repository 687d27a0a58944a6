//! The provider token client against a real OAuth provider: code exchange with PKCE, both client authentication
//! methods, refresh with rotation, revocation, and how each failure is classified.

use crate::processes::{OAUTH_CLIENT_SECRET, OAuthProvider};
use app::catalog::{TokenAuth, TokenBody};
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
    };
    let unreachable = tokens.refresh(&nowhere, &client("tether-post"), &secret("r"), &[]).await;
    match unreachable {
        Err(TokenError::Transient { detail, .. }) => assert!(!detail.contains("refresh_token=")),
        other => panic!("expected a transient failure, got {other:?}"),
    }
}
