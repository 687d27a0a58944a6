//! The sandbox's OAuth 2.0 authorization server, on `oxide-auth`: the authorization code grant with PKCE, a
//! sign-in and consent page, refresh tokens that rotate (a reused one revokes its grant, as `oidc-provider`
//! does), RFC 7009 revocation, and bearer checks for the CRM API.

use super::authorization::{AuthorizationServer, SCOPE};
use super::data::{GrantRecord, SandboxData, TokenRecord, UsedCode, digest};
use super::page::{STYLE, escape};
use super::state::Sandbox;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use oxide_auth::endpoint::{
    AccessTokenFlow, AuthorizationFlow, OAuthError, OwnerConsent, QueryParameter, RefreshFlow, ResourceFlow,
    Solicitation,
};
use oxide_auth::frontends::simple::endpoint::{Error as FlowError, FnSolicitor, Generic, Vacant};
use oxide_auth::frontends::simple::extensions::{AddonList, Extended, Pkce};
use oxide_auth::primitives::authorizer::{AuthMap, Authorizer};
use oxide_auth::primitives::generator::RandomGenerator;
use oxide_auth::primitives::grant::{Extensions, Grant};
use oxide_auth::primitives::issuer::{IssuedToken, Issuer, RefreshedToken, TokenType};
use oxide_auth::primitives::registrar::ClientMap;
use oxide_auth::primitives::scope::Scope;
use oxide_auth_axum::{OAuthRequest, OAuthResource, OAuthResponse, WebError};
use rand::RngCore;
use std::sync::{Arc, Mutex};

/// The code a token request is exchanging, between the authorizer that takes it and the issuer that grants.
type Exchanging = Arc<Mutex<Option<String>>>;

/// How long an exchanged code is remembered, so that a replay of it revokes what it granted.
const USED_CODE_MINUTES: i64 = 10;

/// The pending authorization codes (`oxide-auth`'s map), and the memory of exchanged ones: a code shown a
/// second time revokes the grant it made, as RFC 6749 (section 4.1.2) advises and `oidc-provider` does.
struct Codes<'a> {
    pending: &'a mut AuthMap<RandomGenerator>,
    sandbox: &'a Arc<Sandbox>,
    exchanging: Exchanging,
}

impl Authorizer for Codes<'_> {
    fn authorize(&mut self, grant: Grant) -> Result<String, ()> {
        self.pending.authorize(grant)
    }

    fn extract(&mut self, code: &str) -> Result<Option<Grant>, ()> {
        let found = self.pending.extract(code)?;
        let key = digest(code);
        if found.is_some() {
            *self.exchanging.lock().expect("exchanging code") = Some(key);
            return Ok(found);
        }
        let replayed = self.sandbox.data.lock().expect("sandbox state").used_codes.get(&key).map(|used| used.grant);
        if let Some(grant) = replayed {
            self.sandbox.change(|data| data.revoke_grant(grant));
            tracing::info!(grant, "a used sandbox authorization code came back; its grant is revoked");
        }
        Ok(None)
    }
}

/// Issues and checks tokens against the sandbox's state. Tokens are random; only their digests are kept.
#[derive(Clone)]
pub struct SandboxIssuer {
    pub sandbox: Arc<Sandbox>,
    exchanging: Exchanging,
}

fn random_token() -> String {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl SandboxIssuer {
    /// A new access and refresh token under `grant`.
    fn tokens_for(&self, data: &mut SandboxData, grant: u64) -> (String, String, DateTime<Utc>) {
        let now = Utc::now();
        let expires_at = now + self.sandbox.settings.access_token_lifetime;
        let (access, refresh) = (random_token(), random_token());
        data.access_tokens.insert(digest(&access), TokenRecord { grant, expires_at, consumed: false });
        let refresh_expires = now + chrono::Duration::days(REFRESH_TOKEN_DAYS);
        data.refresh_tokens
            .insert(digest(&refresh), TokenRecord { grant, expires_at: refresh_expires, consumed: false });
        (access, refresh, expires_at)
    }

    fn grant_of(data: &SandboxData, token: &TokenRecord) -> Option<Grant> {
        let grant = data.grants.get(&token.grant).filter(|grant| !grant.revoked)?;
        Some(Grant {
            owner_id: grant.owner.clone(),
            client_id: grant.client_id.clone(),
            scope: grant.scope.parse().ok()?,
            redirect_uri: grant.redirect_uri.parse().ok()?,
            until: token.expires_at,
            extensions: Extensions::new(),
        })
    }

    /// The grant a refresh token belongs to, or `None` once it is used, revoked or expired.
    fn grant_id_of_refresh(&self, refresh: &str) -> Option<u64> {
        let data = self.sandbox.data.lock().expect("sandbox state");
        data.refresh_tokens.get(&digest(refresh)).filter(|token| !token.consumed).map(|token| token.grant)
    }
}

/// How long a refresh token lasts.
const REFRESH_TOKEN_DAYS: i64 = 14;

impl Issuer for SandboxIssuer {
    fn issue(&mut self, grant: Grant) -> Result<IssuedToken, ()> {
        let (access, refresh, until) = self.sandbox.change(|data| {
            let id = data.next_id();
            let record = GrantRecord {
                owner: grant.owner_id.clone(),
                client_id: grant.client_id.clone(),
                scope: grant.scope.to_string(),
                redirect_uri: grant.redirect_uri.to_string(),
                revoked: false,
            };
            data.grants.insert(id, record);
            if let Some(code) = self.exchanging.lock().expect("exchanging code").take() {
                let now = Utc::now();
                data.used_codes.retain(|_, used| used.at > now - chrono::Duration::minutes(USED_CODE_MINUTES));
                data.used_codes.insert(code, UsedCode { grant: id, at: now });
            }
            self.tokens_for(data, id)
        });
        Ok(IssuedToken { token: access, refresh: Some(refresh), until, token_type: TokenType::Bearer })
    }

    fn refresh(&mut self, refresh: &str, _grant: Grant) -> Result<RefreshedToken, ()> {
        let grant = self.grant_id_of_refresh(refresh).ok_or(())?;
        let (access, new_refresh, until) = self.sandbox.change(|data| {
            if let Some(used) = data.refresh_tokens.get_mut(&digest(refresh)) {
                used.consumed = true;
            }
            self.tokens_for(data, grant)
        });
        Ok(RefreshedToken { token: access, refresh: Some(new_refresh), until, token_type: TokenType::Bearer })
    }

    fn recover_token(&self, token: &str) -> Result<Option<Grant>, ()> {
        let data = self.sandbox.data.lock().expect("sandbox state");
        let found = data.access_tokens.get(&digest(token)).filter(|token| token.expires_at > Utc::now());
        Ok(found.and_then(|token| Self::grant_of(&data, token)))
    }

    /// A refresh token shown a second time means two parties hold it: the whole grant is revoked.
    fn recover_refresh(&self, refresh: &str) -> Result<Option<Grant>, ()> {
        let key = digest(refresh);
        let reused = {
            let data = self.sandbox.data.lock().expect("sandbox state");
            match data.refresh_tokens.get(&key) {
                None => return Ok(None),
                Some(token) if token.expires_at <= Utc::now() => return Ok(None),
                Some(token) if !token.consumed => return Ok(Self::grant_of(&data, token)),
                Some(token) => token.grant,
            }
        };
        self.sandbox.change(|data| data.revoke_grant(reused));
        tracing::info!(grant = reused, "a used sandbox refresh token came back; its grant is revoked");
        Ok(None)
    }
}

type Endpoint<'a, S> = Extended<Generic<&'a ClientMap, Codes<'a>, SandboxIssuer, S>, AddonList>;

fn endpoint<'a, S>(
    sandbox: &'a Arc<Sandbox>,
    pending: &'a mut AuthMap<RandomGenerator>,
    solicitor: S,
) -> Endpoint<'a, S> {
    let mut addons = AddonList::new();
    addons.push_code(Pkce::optional());
    let exchanging = Exchanging::default();
    let generic = Generic {
        registrar: &sandbox.oauth.registrar,
        authorizer: Codes { pending, sandbox, exchanging: exchanging.clone() },
        issuer: SandboxIssuer { sandbox: sandbox.clone(), exchanging },
        solicitor,
        scopes: Vacant,
        response: Vacant,
    };
    Extended::extend_with(generic, addons)
}

/// A flow's failure as an HTTP answer: bad requests that cannot be sent back to the client stay here.
fn flow_failure(error: FlowError<OAuthRequest>) -> Response {
    match WebError::from(error) {
        WebError::Endpoint(OAuthError::DenySilently) | WebError::Endpoint(OAuthError::BadRequest) => {
            (StatusCode::BAD_REQUEST, "The authorization request names an unknown client or redirect URI.")
                .into_response()
        }
        other => {
            tracing::warn!(error = %other, "the sandbox authorization server failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "The sandbox authorization server failed.").into_response()
        }
    }
}

/// `GET /sandbox/oauth/authorize` shows the sign-in and consent page; the page posts back to the same URL.
pub async fn authorize(State(sandbox): State<Arc<Sandbox>>, request: OAuthRequest) -> Response {
    let server = &sandbox.oauth;
    let solicitor = FnSolicitor(|request: &mut OAuthRequest, solicitation: Solicitation| {
        let query = request.query().map(|query| serde_urlencoded::to_string(query_pairs(query)).unwrap_or_default());
        let query = query.unwrap_or_default();
        let decision = request.body().and_then(|body| body.unique_value("decision").map(|value| value.into_owned()));
        let Some(decision) = decision else {
            return OwnerConsent::InProgress(consent_page(server, &query, &solicitation));
        };
        let form = request.body().and_then(|body| body.unique_value("form").map(|value| value.into_owned()));
        if form.as_deref() != Some(server.form_token(&query).as_str()) {
            return OwnerConsent::Error(WebError::Form);
        }
        let login = request.body().and_then(|body| body.unique_value("login").map(|value| value.trim().to_owned()));
        match (decision.as_str(), login) {
            ("allow", Some(login)) if !login.is_empty() => OwnerConsent::Authorized(login),
            _ => OwnerConsent::Denied,
        }
    });
    let mut codes = server.codes.lock().expect("authorization codes");
    let flow = AuthorizationFlow::prepare(endpoint(&sandbox, &mut codes, solicitor));
    match flow.and_then(|mut flow| flow.execute(request)) {
        Ok(response) => response.into_response(),
        Err(error) => flow_failure(error),
    }
}

/// The query's parameters in a stable order, so the consent form's token covers exactly this request.
fn query_pairs(query: &oxide_auth::endpoint::NormalizedParameter) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = ["response_type", "client_id", "redirect_uri", "scope", "state"]
        .into_iter()
        .chain(["code_challenge", "code_challenge_method"])
        .filter_map(|name| query.unique_value(name).map(|value| (name.to_owned(), value.into_owned())))
        .collect();
    pairs.sort();
    pairs
}

fn consent_page(server: &AuthorizationServer, query: &str, solicitation: &Solicitation) -> OAuthResponse {
    let grant = solicitation.pre_grant();
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to Tether Sandbox</title>
<style>{style}</style></head>
<body><main class="card">
<h1>Tether Sandbox</h1>
<p><strong>{client}</strong> asks to read and change your sandbox CRM (scope <code>{scope}</code>).</p>
<form method="post" action="?{query}">
<input type="hidden" name="form" value="{form}">
<label>Sandbox user <input name="login" value="demo" autocomplete="username" required></label>
<label>Password <input name="password" type="password" value="sandbox" autocomplete="current-password"></label>
<p class="muted">Any user name and password work here: this provider is for trying Tether out.</p>
<div class="buttons"><button name="decision" value="allow">Allow</button>
<button name="decision" value="deny" class="secondary" formnovalidate>Deny</button></div>
</form></main></body></html>"#,
        style = STYLE,
        client = escape(&grant.client_id),
        scope = escape(&grant.scope.to_string()),
        query = escape(query),
        form = server.form_token(query),
    );
    OAuthResponse::default().content_type("text/html; charset=utf-8").map(|page| page.body(&html)).unwrap_or_default()
}

/// `POST /sandbox/oauth/token`: the authorization code and refresh token grants; 503 while an outage is staged.
pub async fn token(State(sandbox): State<Arc<Sandbox>>, request: OAuthRequest) -> Response {
    // No Retry-After: the failure policy's own spacing of attempts is what the outage is there to show.
    if sandbox.token_outage().is_some() {
        let body =
            serde_json::json!({"error": "temporarily_unavailable", "error_description": "a staged sandbox outage"});
        return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
    }
    let grant_type = request.body().and_then(|body| body.unique_value("grant_type").map(|value| value.into_owned()));
    let has_verifier = request.body().is_some_and(|body| body.unique_value("code_verifier").is_some());
    let response = run_token_flow(&sandbox, grant_type.as_deref(), request);
    if grant_type.as_deref() == Some("authorization_code") && has_verifier {
        return pkce_mismatch_as_invalid_grant(response).await;
    }
    response
}

/// Runs the token request through the refresh flow or the authorization code flow.
fn run_token_flow(sandbox: &Arc<Sandbox>, grant_type: Option<&str>, request: OAuthRequest) -> Response {
    let mut codes = sandbox.oauth.codes.lock().expect("authorization codes");
    let endpoint = endpoint(sandbox, &mut codes, Vacant);
    let answered = match grant_type {
        Some("refresh_token") => RefreshFlow::prepare(endpoint).and_then(|mut flow| flow.execute(request)),
        _ => AccessTokenFlow::prepare(endpoint).and_then(|mut flow| {
            flow.allow_credentials_in_body(true);
            flow.execute(request)
        }),
    };
    match answered {
        Ok(response) => response.into_response(),
        Err(error) => flow_failure(error),
    }
}

/// RFC 7636 (section 4.6) answers a PKCE verifier that does not match with `invalid_grant`; `oxide-auth` says
/// `invalid_request` for any extension's refusal. With every parameter present, PKCE is the refusal's cause.
async fn pkce_mismatch_as_invalid_grant(response: Response) -> Response {
    if response.status() != StatusCode::BAD_REQUEST {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let refused: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    if refused["error"] == "invalid_request" {
        let body =
            serde_json::json!({"error": "invalid_grant", "error_description": "the PKCE code verifier does not match"});
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// `POST /sandbox/oauth/revoke` (RFC 7009): the client authenticates; revoking a refresh token revokes its
/// grant, an access token only itself. An unknown token is answered 200 too.
pub async fn revoke(State(sandbox): State<Arc<Sandbox>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let field = |name: &str| form.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
    let credentials = basic_credentials(&headers).or_else(|| Some((field("client_id")?, field("client_secret")?)));
    let authenticated = credentials.is_some_and(|(id, secret)| sandbox.oauth.client_is(&id, &secret));
    if !authenticated {
        let body = serde_json::json!({"error": "invalid_client"});
        return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Basic")], axum::Json(body)).into_response();
    }
    let Some(token) = field("token") else {
        let body = serde_json::json!({"error": "invalid_request", "error_description": "token is missing"});
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    };
    let key = digest(&token);
    sandbox.change(|data| {
        if let Some(refresh) = data.refresh_tokens.get(&key) {
            let grant = refresh.grant;
            data.revoke_grant(grant);
        } else {
            data.access_tokens.remove(&key);
        }
    });
    StatusCode::OK.into_response()
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine as _;
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic "))?;
    let decoded = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape =
        |text: &str| url::form_urlencoded::parse(format!("x={text}").as_bytes()).next().map(|(_, v)| v.into_owned());
    Some((unescape(id)?, unescape(secret)?))
}

/// The user an API request's bearer token stands for, or the 401 answer to send.
pub fn bearer_owner(sandbox: &Arc<Sandbox>, resource: OAuthResource) -> Result<String, Box<Response>> {
    let scopes = [SCOPE.parse::<Scope>().expect("a valid scope")];
    let guard = Generic {
        registrar: Vacant,
        authorizer: Vacant,
        issuer: SandboxIssuer { sandbox: sandbox.clone(), exchanging: Exchanging::default() },
        solicitor: Vacant,
        scopes: &scopes[..],
        response: Vacant,
    };
    let mut flow = ResourceFlow::prepare(guard).map_err(|error| Box::new(flow_failure(error)))?;
    match flow.execute(OAuthRequest::from(resource)) {
        Ok(grant) => Ok(grant.owner_id),
        Err(Ok(answer)) => Err(Box::new(answer.into_response())),
        Err(Err(error)) => Err(Box::new(flow_failure(error))),
    }
}
